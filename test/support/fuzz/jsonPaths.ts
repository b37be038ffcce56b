// JSON values addressed by key paths: listing the paths of an order, reading, setting and deleting at one.

export type Json = unknown;
export type Obj = Record<string, Json>;
export type Path = string[];

export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export const jsonType = (v: Json) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Every key path below an object (objects only: arrays are leaves). */
export function pathsOf(value: Json, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const out: Path[] = [];
  for (const [k, v] of Object.entries(value as Obj)) {
    out.push([...prefix, k]);
    out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

/** The paths of the object itself and of every object within it. */
export function objectPaths(value: Json, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return [prefix, ...Object.entries(value as Obj).flatMap(([k, v]) => objectPaths(v, [...prefix, k]))];
}

export function at(root: Obj, p: Path): Obj {
  let o: Json = root;
  for (const k of p) o = (o as Obj)[k];
  return o as Obj;
}

/** Sets a key as an own enumerable data property, so `__proto__` is written out by JSON.stringify too. */
export function define(target: Obj, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function setPath(root: Obj, p: Path, value: Json): void {
  define(at(root, p.slice(0, -1)), p[p.length - 1]!, value);
}

export function deletePath(root: Obj, p: Path): void {
  delete at(root, p.slice(0, -1))[p[p.length - 1]!];
}
