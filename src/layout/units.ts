// The one place that converts units: templates are in mm, fonts in pt, printers in dots.

export const MM_PER_INCH = 25.4;
export const PT_PER_INCH = 72;

export const mmToPt = (mm: number): number => (mm * PT_PER_INCH) / MM_PER_INCH;
export const ptToMm = (pt: number): number => (pt * MM_PER_INCH) / PT_PER_INCH;
export const dotMm = (dpi: number): number => MM_PER_INCH / dpi;
export const mmToDots = (mm: number, dpi: number): number => (mm * dpi) / MM_PER_INCH;
/** Snaps a position to the printer's dot grid, so barcode modules start on whole dots. */
export const snapToDots = (mm: number, dpi: number): number => Math.round(mmToDots(mm, dpi)) * dotMm(dpi);
