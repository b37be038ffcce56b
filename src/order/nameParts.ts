// How a person's name is built, for masking and for screening printed text alike: ·-separated segments
// (麦麦提·赛帕克) and a Han surname, compound surnames (欧阳, 司马 …) matched before one character.

/** Compound (two-character) Chinese surnames; matched before falling back to a one-character surname. */
const COMPOUND_SURNAMES: ReadonlySet<string> = new Set([
  '欧阳', '司马', '诸葛', '上官', '皇甫', '尉迟', '公孙', '慕容', '令狐', '长孙',
  '宇文', '司徒', '夏侯', '端木', '独孤', '南宫', '西门', '呼延', '拓跋', '东方',
  '司空', '轩辕', '澹台', '公冶', '宗政', '濮阳', '淳于', '单于', '太叔', '申屠',
  '仲孙', '钟离', '闻人', '万俟', '赫连', '百里', '东郭', '南门', '羊舌', '微生',
  '梁丘', '左丘', '第五', '段干', '乐正', '谷梁', '拓拔', '完颜', '鲜于', '闾丘',
  '亓官', '司寇', '巫马', '公西', '颛孙', '壤驷', '公良', '漆雕', '宰父',
]);

/** Separators that always split a name into segments (middle dots and bullets people type for them). */
const DOT_SEPARATOR = /\s*[\u00B7\u2022\u30FB\u2027\uFF65\u2219\u22C5]\s*/u;
/** '.' (ASCII or full-width) only counts as a separator between Han characters: "J.R.R. Tolkien" keeps it. */
const HAN_PERIOD = /(\p{Script=Han})\s*[.\uFF0E]\s*(?=\p{Script=Han})/gu;
/** The ·-separated segments of a name (one segment for most names). */
export function nameSegments(name: string): string[] {
  return name.replace(HAN_PERIOD, '$1\u00B7').split(DOT_SEPARATOR).filter((s) => s !== '');
}

/** How many of a Han name's characters are its surname. */
export function hanSurnameLength(chars: readonly string[]): 1 | 2 {
  return chars.length >= 2 && COMPOUND_SURNAMES.has(chars.slice(0, 2).join('')) ? 2 : 1;
}
