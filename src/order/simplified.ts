// Traditional Chinese and Japanese shinjitai as simplified Chinese, for screening only: a name, street or
// unit written in traditional characters (歐陽, 單元, 號房) or in Japanese forms (暁, 広場) is the same text to
// a reader as its simplified form, so the screen folds them to one (OpenCC's dictionaries, through
// opencc-js: Japanese to traditional, which takes traditional text as it is, then to simplified). What is
// printed is never converted.

type Convert = (text: string) => string;
let convert: Convert | undefined;

const HAN = /\p{Script=Han}/u;

/** The text with traditional and Japanese characters (and phrases) as simplified ones; text without Han unchanged. */
export function simplified(text: string): string {
  if (!HAN.test(text)) return text;
  // Loaded on the first Han text: building the dictionaries takes some 25 ms, which a process with only
  // Latin orders never pays.
  convert ??= (require('opencc-js/t2cn') as { Converter(o: { from: 'jp'; to: 'cn' }): Convert }).Converter({ from: 'jp', to: 'cn' });
  return convert(text);
}
