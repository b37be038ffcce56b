// The CJK font the project's own install brings (Noto Sans SC, TTF, OFL, from npm), opened once per
// process and shared by text measuring (layout) and drawing (renderers).

import path from 'node:path';
import * as fontkit from 'fontkit';

const PACKAGE = path.dirname(require.resolve('@expo-google-fonts/noto-sans-sc/package.json'));

export const FONT_FILES = {
  regular: path.join(PACKAGE, '400Regular', 'NotoSansSC_400Regular.ttf'),
  bold: path.join(PACKAGE, '700Bold', 'NotoSansSC_700Bold.ttf'),
} as const;

export type FontWeight = keyof typeof FONT_FILES;

const opened = new Map<FontWeight, fontkit.Font>();

export function font(weight: FontWeight): fontkit.Font {
  let f = opened.get(weight);
  if (!f) {
    f = fontkit.openSync(FONT_FILES[weight]) as fontkit.Font;
    opened.set(weight, f);
  }
  return f;
}
