// The type of text that has passed a masking rule. Layout and renderers accept only this (or
// non-personal text), so the compiler refuses raw personal data anywhere past the privacy view.

declare const maskedBrand: unique symbol;
export type Masked = string & { readonly [maskedBrand]: true };

/** Marks a string as masked. Only code under src/privacy may call this. */
export function asMasked(text: string): Masked {
  return text as Masked;
}
