// The cases of the HTTP fuzz test: case n is first the sweep (every field path of the sample orders set to
// every other JSON type), then a draw from the weighted generators with case n's own random stream.

import { batchShape, clientAbort } from './generators/batches';
import { deepNesting, invalidUtf8, prototypePollution, topLevelScalar, truncatedJson } from './generators/bodySyntax';
import { accept, authorization, contentEncoding, contentType, idempotencyKey, relayContentType, requestId, wrongRole } from './generators/headers';
import { extraField, hugeString, missingField, nastyText, wrongType } from './generators/orderFields';
import { eventBody, relayBody } from './generators/relayAndEvents';
import { pathSegment, query, scan, wrongMethod } from './generators/urls';
import { at, clone, jsonType, pathsOf, setPath, type Json, type Path } from './jsonPaths';
import { SAMPLES, json, jsonHeaders, type FuzzRequest, type Generator, type World } from './requests';
import { Rng, caseSeed } from './rng';

/** In the order they are drawn from: the order is part of what a seed means, so keep it. */
export const GENERATORS: Generator[] = [
  wrongType,
  missingField,
  extraField,
  hugeString,
  deepNesting,
  invalidUtf8,
  truncatedJson,
  topLevelScalar,
  prototypePollution,
  nastyText,
  contentType,
  relayContentType,
  contentEncoding,
  wrongMethod,
  idempotencyKey,
  accept,
  query,
  authorization,
  wrongRole,
  pathSegment,
  relayBody,
  eventBody,
  batchShape,
  scan,
  clientAbort,
  requestId,
];

const TOTAL_WEIGHT = GENERATORS.reduce((s, g) => s + g.weight, 0);

/**
 * Every field path that occurs in any sample order (taken from the first sample that has it), each set to
 * a value of every other JSON type: the first cases, before the random ones.
 */
export const SWEEP: { sample: number; path: Path; value: Json }[] = (() => {
  const byPath = new Map<string, { sample: number; path: Path }>();
  SAMPLES.forEach((o, sample) => {
    for (const p of pathsOf(o)) if (!byPath.has(p.join('.'))) byPath.set(p.join('.'), { sample, path: p });
  });
  const representatives: Json[] = ['text', 42, null, true, ['text'], { text: 1 }];
  return [...byPath.values()].flatMap(({ sample, path: p }) => {
    const original = at(SAMPLES[sample]!, p.slice(0, -1))[p[p.length - 1]!];
    return representatives.filter((v) => jsonType(v) !== jsonType(original)).map((value) => ({ sample, path: p, value }));
  });
})();

/** Case `n` of a run seeded with `seed`, against `world`. */
export function caseFor(seed: number, n: number, world: World): { generator: string; request: FuzzRequest } {
  const sweep = SWEEP[n];
  if (sweep) {
    const order = clone(SAMPLES[sweep.sample]!);
    order.orderId = `FZ-${n}-sweep`;
    setPath(order, sweep.path, clone(sweep.value));
    // null reads as absent: refused only where the field is required, as a missing one is.
    const expect = sweep.value === null ? {} : { expect: [422] };
    return { generator: 'wrong-type-sweep', request: { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(world.warehouse), body: json(order), ...expect } };
  }
  const r = new Rng(caseSeed(seed, n));
  let x = r.next() * TOTAL_WEIGHT;
  let g = GENERATORS[GENERATORS.length - 1]!;
  for (const candidate of GENERATORS) {
    if ((x -= candidate.weight) < 0) {
      g = candidate;
      break;
    }
  }
  return { generator: g.name, request: g.make(r, n, world) };
}
