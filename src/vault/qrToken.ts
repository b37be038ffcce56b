// QR tokens: 128 random bits behind a version character, inside `<scan base URL>/w/<token>`.
// The store keeps only a keyed hash, so a stolen database cannot be turned into working QR codes.

import { createHmac } from 'node:crypto';
import { randomBytes } from './randomPool';

const VERSION = '1';
const TOKEN_PATTERN = /^1[A-Za-z0-9_-]{22}$/;

export function newToken(): string {
  return VERSION + randomBytes(16).toString('base64url');
}

/** Cheap shape check, so malformed tokens are refused before any lookup. */
export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

export function hashToken(token: string, tokenKey: Buffer): string {
  return createHmac('sha256', tokenKey).update(token).digest('base64url');
}

export function tokenUrl(scanBaseUrl: string, token: string): string {
  return `${scanBaseUrl.replace(/\/+$/, '')}/w/${token}`;
}

/** The token in what a scanner read off a QR code: tokenUrl's last path segment, or the text itself. */
export function tokenOfScan(text: string): string {
  const trimmed = text.trim();
  const at = trimmed.lastIndexOf('/w/');
  return at >= 0 ? trimmed.slice(at + 3) : trimmed;
}
