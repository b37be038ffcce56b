// The language a template prints in (and relay numbers and area names are written in). It has no imports, so
// every layer can use it: privacy, layout, relay, printing.

export const LANGS = ['zh', 'en'] as const;
export type Lang = (typeof LANGS)[number];
