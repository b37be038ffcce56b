// How a person's name is built, for masking and for screening printed text alike: ·-separated segments
// (麦麦提·赛帕克) and a Han surname, compound surnames (欧阳, 司马 …) matched before one character; and the
// name without the titles and notes order systems add to it (王女士, 张伟先生, 张伟（收）, Mr. Smith).

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

/** Forms of address and notes written after a Han name: 先生, 女士 …, 收 (for the attention of). */
const HAN_TITLES = /(?:\s*(?:先生|女士|小姐|太太|夫人|老师|同学|师傅|阿姨|经理|收|亲启))+$/u;
/** Titles written before a name. */
const LATIN_TITLE = /^(?:mr|mrs|ms|miss|mx|dr|prof|mme|mlle|herr|frau|sr|sra|srta)\.?\s+/iu;
/** A bracketed note or a second name after a slash ("张伟（公司前台）", "张伟/李娜"): the name is before it. */
const NOTE_AFTER = /\s*[(（[【/／].*$/su;

/** The name without its titles and notes ("测试某某先生" → 测试某某); the name itself when that leaves nothing. */
export function bareName(name: string): string {
  const bare = name.trim().replace(NOTE_AFTER, '').replace(HAN_TITLES, '').replace(LATIN_TITLE, '').trim();
  return bare === '' ? name : bare;
}
