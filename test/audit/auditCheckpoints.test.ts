// The keyed chain and signed checkpoints against a database insider: after a checkpoint is taken, every
// consistent rewrite an insider with database access can do (guard triggers dropped, as migration 3's
// triggers would otherwise refuse it) fails `waybill audit verify`, on SQLite and PostgreSQL, through the
// real CLI. Also: a restored older SQLite file, key rotation, a missing key, forged checkpoints.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { EXIT, main } from '../../src/cli';
import { serveCommand } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { GENESIS_HASH, linkRecord, type AuditEntry, type AuditRecord } from '../../src/audit/auditRecord';
import { toRecord, type AuditRow } from '../../src/store/auditRepository';
import { openServices } from '../../src/wiring';
import { STORE_BACKENDS, type StoreBackend, type TestDatabase } from '../support/storeBackends';

// Dated as a running service dates them: after its key file's audit keys were made.
const START = Date.now() + 60_000;
const at = (i: number) => new Date(START + i * 1000).toISOString();

/** Scans, refusals and prints, as a day at an outlet writes them. */
const entry = (i: number): AuditEntry =>
  i % 4 === 0
    ? { at: at(i), actor: `courier:c${i % 3}`, action: 'refuse', waybillNo: `ZT${1000 + i}`, purpose: 'delivery', outcome: 'forbidden' }
    : i % 4 === 1
      ? { at: at(i), actor: 'cli:ops@pack-01', action: 'print', waybillNo: `ZT${1000 + i}`, outcome: 'ok', detail: { job: `job-${i}`, copies: 4 } }
      : { at: at(i), actor: `courier:c${i % 3}`, action: 'scan', waybillNo: `ZT${1000 + i}`, purpose: 'delivery', outcome: 'ok' };

interface World {
  t: TestDatabase;
  env: Record<string, string>;
  dataDir: string;
  run(...argv: string[]): Promise<{ code: number; out: string }>;
  append(from: number, to: number): Promise<void>;
  /** Every record as stored. */
  records(): Promise<AuditRecord[]>;
  /** Replaces the whole chain and head, as an insider would: renumbered 1…n, linked plain or under a stolen key. */
  rewrite(entries: AuditEntry[], stolenKey?: { id: string; secret: Buffer }): Promise<void>;
  close(): Promise<void>;
}

const lit = (v: unknown): string => (v === null || v === undefined ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);

async function world(backend: StoreBackend): Promise<World> {
  const t = await backend.open();
  const dataDir = t.location.backend === 'sqlite' ? path.dirname(t.location.file) : fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-cp-'));
  const env: Record<string, string> = { WAYBILL_DATA_DIR: dataDir, WAYBILL_AUDIT_CHECKPOINT_MINUTES: '0' };
  if (t.location.backend === 'postgres') env.DATABASE_URL = t.location.url;
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    const code = await main(argv, (l) => lines.push(l), env);
    return { code, out: lines.join('\n') };
  };
  const records = async () =>
    (await t.query('SELECT seq, at, actor, action, waybill_no, purpose, outcome, request_id, detail, prev_hash, hash, key_id FROM audit_log ORDER BY seq')).map((r) =>
      toRecord(r as unknown as AuditRow),
    );
  return {
    t,
    env,
    dataDir,
    run,
    records,
    async append(from, to) {
      const services = await openServices(loadConfig(env), () => {});
      try {
        for (let i = from; i <= to; i++) await services.audit.append(entry(i));
      } finally {
        await services.close();
      }
    },
    async rewrite(entries, stolenKey) {
      await t.dropAuditGuards();
      let prevHash = GENESIS_HASH;
      const rows: string[] = [];
      entries.forEach((e, i) => {
        const seq = i + 1;
        const hash = linkRecord(seq, prevHash, e, stolenKey);
        const detail = e.detail === undefined ? null : JSON.stringify(e.detail);
        rows.push(
          `INSERT INTO audit_log (seq, at, actor, action, waybill_no, purpose, outcome, request_id, detail, prev_hash, hash, key_id) VALUES (` +
            [seq, e.at, e.actor, e.action, e.waybillNo, e.purpose, e.outcome, e.requestId, detail, prevHash, hash, stolenKey?.id].map(lit).join(', ') +
            ');',
        );
        prevHash = hash;
      });
      await t.exec(
        `BEGIN; DELETE FROM audit_log; ${rows.join('\n')}
         UPDATE audit_head SET seq = ${entries.length}, hash = ${lit(prevHash)}, key_id = ${lit(stolenKey?.id)} WHERE id = 1; COMMIT;`,
      );
    },
    async close() {
      await t.close();
    },
  };
}

const entryOf = (r: AuditRecord): AuditEntry => {
  const { seq: _s, prevHash: _p, hash: _h, keyId: _k, ...e } = r;
  return e;
};
const stolenKey = (w: World) => ({ id: 'a1', secret: Buffer.from(JSON.parse(fs.readFileSync(path.join(w.dataDir, 'keys.json'), 'utf8')).auditKeys.a1, 'base64') });

describe.each(STORE_BACKENDS)('audit checkpoints against an insider on %s', (_name, backend) => {
  /** 30 records (the first is the keying record), a checkpoint at 30, then 5 more. */
  async function checkpointed(): Promise<World> {
    const w = await world(backend);
    await w.append(1, 29);
    const cp = await w.run('audit', 'checkpoint');
    expect(cp).toMatchObject({ code: EXIT.ok, out: expect.stringMatching(/^checkpoint: record 30, link [0-9a-f]{64}, 30 records, signed by [0-9a-f]{16} → .*audit-checkpoints\.jsonl$/) });
    await w.append(30, 34);
    return w;
  }

  it('verifies an intact keyed chain against its checkpoint and prints the head', async () => {
    const w = await checkpointed();
    try {
      const records = await w.records();
      expect(records[0]).toMatchObject({ seq: 1, action: 'audit_key', keyId: 'a1', detail: { keyId: 'a1', from: '-' } });
      expect(records.every((r) => r.keyId === 'a1')).toBe(true);
      const v = await w.run('audit', 'verify');
      expect(v.code).toBe(EXIT.ok);
      expect(v.out.split('\n')).toEqual([
        'audit log intact: 35 records',
        `head: record 35, link ${records.at(-1)!.hash}, 35 records`,
        'keyed from record 1; head linked under audit key a1',
        expect.stringMatching(/^checkpoints: 1 agree \(latest: record 30 at .*audit-checkpoints\.jsonl:1\)$/),
      ]);
    } finally {
      await w.close();
    }
  });

  it("counts on from the previous checkpoint's head: the whole log's count, read from its newer records only", async () => {
    const w = await checkpointed();
    const services = await openServices(loadConfig(w.env), () => {});
    try {
      const first = (await services.audit.checkpointHead())!;
      expect(first).toMatchObject({ seq: 35, count: 35 });
      for (let i = 35; i < 40; i++) await services.audit.append(entry(i));
      const whole = await services.audit.checkpointHead();
      expect(whole).toMatchObject({ seq: 40, count: 40 });
      expect(await services.audit.checkpointHead(first)).toEqual(whole);
      // A head from after this one (a restored older database) is no base: the log is counted whole.
      expect(await services.audit.checkpointHead({ ...whole!, seq: 50, count: 50 })).toEqual(whole);
      // A record deleted before the base is not laundered into the next checkpoint: it attests the
      // number the log had, and verify finds the gap.
      await w.t.dropAuditGuards();
      await w.t.exec('DELETE FROM audit_log WHERE seq = 12');
      expect((await services.audit.checkpointHead())!.count).toBe(39);
      expect((await services.audit.checkpointHead(whole))!.count).toBe(40);
      expect((await w.run('audit', 'verify')).code).toBe(EXIT.failure);
    } finally {
      await services.close();
      await w.close();
    }
  });

  it('fails when the last records are deleted and the head rolled back', async () => {
    const w = await checkpointed();
    try {
      const records = await w.records();
      await w.t.dropAuditGuards();
      const back = records[24]!;
      await w.t.exec(`DELETE FROM audit_log WHERE seq > 25`);
      await w.t.exec(`UPDATE audit_head SET seq = 25, hash = '${back.hash}', key_id = 'a1' WHERE id = 1`);
      const v = await w.run('audit', 'verify', '--checkpoints', path.join(w.dataDir, 'checkpoints'));
      expect(v.code).toBe(EXIT.failure);
      expect(v.out).toMatch(/^audit log BROKEN at record 26 \(truncated\): the log ends at record 25 but the checkpoint of .* saw record 30/);
    } finally {
      await w.close();
    }
  });

  it('fails when everything is wiped and the head reset: an empty log is never intact past a checkpoint', async () => {
    const w = await checkpointed();
    try {
      await w.t.dropAuditGuards();
      await w.t.exec('DELETE FROM audit_log');
      await w.t.exec(`UPDATE audit_head SET seq = 0, hash = '${GENESIS_HASH}', key_id = NULL WHERE id = 1`);
      const v = await w.run('audit', 'verify');
      expect(v.code).toBe(EXIT.failure);
      expect(v.out).toMatch(/BROKEN at record 1 \(truncated\)/);
    } finally {
      await w.close();
    }
  });

  it('fails when a record is deleted and the rest renumbered and rehashed with plain SHA-256, with or without checkpoints', async () => {
    const w = await checkpointed();
    try {
      const entries = (await w.records()).map(entryOf).filter((e) => e.action !== 'audit_key' && e.waybillNo !== 'ZT1008');
      await w.rewrite(entries);
      expect((await w.run('audit', 'verify', '--checkpoints', path.join(w.dataDir, 'nowhere'))).code).toBe(EXIT.noInput); // a named location must exist
      expect((await w.run('audit', 'verify', '--public-key', path.join(w.dataDir, 'nowhere.pem'))).code).toBe(EXIT.noInput); // so must a named key
      // A never-keyed chain dated after the key file's audit keys were made: the service would have keyed it.
      const v = await w.run('audit', 'verify');
      expect(v.code).toBe(EXIT.failure);
      expect(v.out).toMatch(/BROKEN at record 1 \(edited\): record 1 is not keyed, though it is dated after the audit keys were made/);
      fs.renameSync(path.join(w.dataDir, 'checkpoints'), path.join(w.dataDir, 'moved'));
      expect((await w.run('audit', 'verify')).out).toMatch(/BROKEN at record 1 \(edited\)/);
    } finally {
      await w.close();
    }
  });

  it('fails a plain rewrite whose dates are spelt to sort before the audit keys (a space for the T, an extended year)', async () => {
    for (const spell of [(at: string) => at.replace('T', ' '), (at: string) => `+00${at}`]) {
      const w = await checkpointed();
      try {
        const entries = (await w.records()).map(entryOf).filter((e) => e.action !== 'audit_key');
        await w.rewrite(entries.map((e) => ({ ...e, at: spell(e.at) })));
        fs.renameSync(path.join(w.dataDir, 'checkpoints'), path.join(w.dataDir, 'moved'));
        const v = await w.run('audit', 'verify');
        expect(v.code).toBe(EXIT.failure);
        expect(v.out).toMatch(/BROKEN at record 1 \(edited\): record 1 is not keyed, though it is dated after the audit keys were made/);
      } finally {
        await w.close();
      }
    }
  });

  it('fails a record whose detail names a key twice (SQLite reads the first, the log the last), keeping its hash', async () => {
    const w = await checkpointed();
    try {
      const print = (await w.records()).find((r) => r.detail?.job !== undefined)!;
      const { job, ...rest } = print.detail!;
      // The same value once parsed (the last "job" wins), so its link still matches: only the text differs.
      const forged = `{"job":"00000000-0000-4000-8000-000000000000",${JSON.stringify({ job, ...rest }).slice(1)}`;
      await w.t.dropAuditGuards();
      await w.t.exec(`UPDATE audit_log SET detail = '${forged}' WHERE seq = ${print.seq}`);
      const v = await w.run('audit', 'verify');
      expect(v.code).toBe(EXIT.failure);
      expect(v.out).toMatch(new RegExp(`BROKEN at record ${print.seq} \\(edited\\)`));
    } finally {
      await w.close();
    }
  });

  it("fails when a scan's actor is changed and the chain rehashed, even by an insider holding the audit key", async () => {
    for (const key of [undefined, 'stolen'] as const) {
      const w = await checkpointed();
      try {
        const records = await w.records();
        const entries = records.map((r) => (r.seq === 7 ? { ...entryOf(r), actor: 'courier:someone-else' } : entryOf(r)));
        if (key) {
          // With the key, the insider rebuilds a keyed chain that verifies on its own: only the checkpoint disagrees.
          await w.rewrite(entries, stolenKey(w));
        } else {
          await w.rewrite(entries.filter((e) => e.action !== 'audit_key'));
        }
        const v = await w.run('audit', 'verify');
        expect(v.code).toBe(EXIT.failure);
        expect(v.out).toMatch(key ? /BROKEN at record (29|30) \(edited\): record (29|30) disagrees with the checkpoint/ : /BROKEN at record 1 \(edited\): record 1 is not keyed/);
        // Without checkpoints a plain rewrite still fails (dated after the keys were made); one under a stolen
        // key looks intact: what checkpoints are for.
        fs.renameSync(path.join(w.dataDir, 'checkpoints'), path.join(w.dataDir, 'moved'));
        expect((await w.run('audit', 'verify')).code).toBe(key ? EXIT.ok : EXIT.failure);
      } finally {
        await w.close();
      }
    }
  });

  it('fails when every refusal is rewritten into a successful scan and rehashed', async () => {
    const w = await checkpointed();
    try {
      const entries = (await w.records())
        .map(entryOf)
        .map((e): AuditEntry => (e.action === 'refuse' ? { ...e, action: 'scan', outcome: 'ok' } : e));
      // Under the stolen key: a plain rewrite fails at record 1 (above), this one only at the checkpoint.
      await w.rewrite(entries, stolenKey(w));
      const v = await w.run('audit', 'verify');
      expect(v.code).toBe(EXIT.failure);
      expect(v.out).toMatch(/BROKEN at record (29|30) \(edited\)/);
    } finally {
      await w.close();
    }
  });

  it('fails when only the tail is rewritten with plain hashes, checkpoint or not: a keyed chain stays keyed', async () => {
    const w = await checkpointed();
    try {
      await w.t.dropAuditGuards();
      const r = (await w.records())[32]!;
      const changed = { ...entryOf(r), outcome: 'ok' };
      const hash = linkRecord(r.seq, r.prevHash, changed);
      await w.t.exec(`DELETE FROM audit_log WHERE seq >= 33`);
      await w.t.exec(
        `INSERT INTO audit_log (seq, at, actor, action, waybill_no, purpose, outcome, request_id, detail, prev_hash, hash, key_id) VALUES (` +
          [r.seq, r.at, r.actor, r.action, r.waybillNo, r.purpose, 'ok', null, r.detail ? JSON.stringify(r.detail) : null, r.prevHash, hash, null].map(lit).join(', ') +
          ')',
      );
      await w.t.exec(`UPDATE audit_head SET seq = 33, hash = '${hash}', key_id = NULL WHERE id = 1`);
      fs.rmSync(path.join(w.dataDir, 'checkpoints'), { recursive: true });
      const v = await w.run('audit', 'verify');
      expect(v.code).toBe(EXIT.failure);
      expect(v.out).toMatch(/BROKEN at record 33 \(edited\): record 33 is not keyed, but the chain is keyed from record 1/);
    } finally {
      await w.close();
    }
  });

  it('refuses a checkpoint with a bad signature, and one signed by a key it does not trust', async () => {
    const w = await checkpointed();
    try {
      const file = path.join(w.dataDir, 'checkpoints', 'audit-checkpoints.jsonl');
      const line = JSON.parse(fs.readFileSync(file, 'utf8').trim()) as Record<string, unknown>;
      const forged = path.join(w.dataDir, 'forged.jsonl');
      fs.writeFileSync(forged, JSON.stringify({ ...line, seq: 20, count: 20 }) + '\n');
      const bad = await w.run('audit', 'verify', '--checkpoints', forged);
      expect(bad.code).toBe(EXIT.failure);
      expect(bad.out).toMatch(/^audit checkpoint REFUSED at .*forged\.jsonl:1: bad signature/);
      fs.writeFileSync(forged, 'not json\n');
      expect((await w.run('audit', 'verify', '--checkpoints', forged)).out).toMatch(/REFUSED at .*forged\.jsonl:1: not a checkpoint line/);

      // Signed by another deployment's key: not trusted here.
      const other = await world(backend);
      try {
        await other.append(1, 2);
        expect((await other.run('audit', 'checkpoint')).code).toBe(EXIT.ok);
        const untrusted = await w.run('audit', 'verify', '--checkpoints', path.join(other.dataDir, 'checkpoints'));
        expect(untrusted.code).toBe(EXIT.failure);
        expect(untrusted.out).toMatch(/REFUSED at .*: signed by key [0-9a-f]{16}, which is not a trusted checkpoint key/);
      } finally {
        await other.close();
      }
    } finally {
      await w.close();
    }
  });
});

describe('a restored older copy of the SQLite database', () => {
  it('fails verify against a checkpoint taken after the copy', async () => {
    const w = await world(STORE_BACKENDS[0]![1]);
    try {
      await w.append(1, 10);
      const file = (w.t.location as { file: string }).file;
      const backup = path.join(w.dataDir, 'backup.db');
      const db = new Database(file);
      db.exec(`VACUUM INTO '${backup}'`);
      db.close();
      await w.append(11, 20);
      expect((await w.run('audit', 'checkpoint')).code).toBe(EXIT.ok);
      await w.t.stores.close();
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
      fs.copyFileSync(backup, file);
      const v = await w.run('audit', 'verify');
      expect(v.code).toBe(EXIT.failure);
      expect(v.out).toMatch(/BROKEN at record 12 \(truncated\): the log ends at record 11 but the checkpoint of .* saw record 21/);
    } finally {
      await w.close();
    }
  });
});

describe.each(STORE_BACKENDS)('audit key rotation on %s', (_name, backend) => {
  it('keys rotate-audit starts the new key with a rotation record; the whole chain still verifies, checkpoints too', async () => {
    const w = await world(backend);
    try {
      await w.append(1, 5);
      expect((await w.run('audit', 'checkpoint')).code).toBe(EXIT.ok);
      const rotated = await w.run('keys', 'rotate-audit', 'a2');
      expect(rotated).toEqual({ code: EXIT.ok, out: 'active audit key a2; record 7 starts its chain' });
      await w.append(6, 8);
      expect((await w.run('audit', 'checkpoint')).code).toBe(EXIT.ok);
      const records = await w.records();
      expect(records.map((r) => r.keyId)).toEqual(['a1', 'a1', 'a1', 'a1', 'a1', 'a1', 'a2', 'a2', 'a2', 'a2']);
      expect(records[6]).toMatchObject({ action: 'audit_key', purpose: 'key rotation', detail: { keyId: 'a2', from: 'a1' } });
      const v = await w.run('audit', 'verify');
      expect(v.code).toBe(EXIT.ok);
      expect(v.out).toMatch(/keyed from record 1; head linked under audit key a2\ncheckpoints: 2 agree/);
      expect((await w.run('keys', 'rotate-audit', 'a2')).code).not.toBe(EXIT.ok); // exists already
    } finally {
      await w.close();
    }
  });

  it('from the environment: a new key id starts its chain at the next append; without the old key verify names it and fails', async () => {
    const w = await world(backend);
    const k1 = randomBytes(32).toString('base64');
    const k2 = randomBytes(32).toString('base64');
    const seed = randomBytes(32).toString('base64');
    Object.assign(w.env, { WAYBILL_AUDIT_KEY: k1, WAYBILL_AUDIT_KEY_ID: 'prod-1', WAYBILL_AUDIT_SIGNING_KEY: seed });
    try {
      await w.append(1, 3);
      Object.assign(w.env, { WAYBILL_AUDIT_KEY: k2, WAYBILL_AUDIT_KEY_ID: 'prod-2', WAYBILL_PREVIOUS_AUDIT_KEYS: `prod-1:${k1}` });
      await w.append(4, 5);
      const records = await w.records();
      expect(records.map((r) => r.keyId)).toEqual(['prod-1', 'prod-1', 'prod-1', 'prod-1', 'prod-2', 'prod-2', 'prod-2']);
      expect((await w.run('audit', 'verify')).out).toMatch(/audit log intact: 7 records[\s\S]*head linked under audit key prod-2/);
      delete w.env.WAYBILL_PREVIOUS_AUDIT_KEYS;
      const missing = await w.run('audit', 'verify');
      expect(missing.code).toBe(EXIT.failure);
      expect(missing.out).toMatch(/BROKEN at record 1 \(unverifiable\): record 1 is linked under audit key prod-1, which is not loaded/);
      // The investigator's way: the public key printed by `keys audit-public`, no signing key at hand.
      const pem = path.join(w.dataDir, 'audit-public.pem');
      expect((await w.run('keys', 'audit-public', '--out', pem)).out).toMatch(/^audit checkpoint signing key [0-9a-f]{16} \(written to .*\)\n-----BEGIN PUBLIC KEY-----/);
      expect((await w.run('audit', 'checkpoint', '--out', path.join(w.dataDir, 'evidence', 'cp.jsonl'))).code).toBe(EXIT.ok);
      const investigator = { ...w.env, WAYBILL_PREVIOUS_AUDIT_KEYS: `prod-1:${k1}` };
      delete (investigator as Record<string, string | undefined>).WAYBILL_AUDIT_SIGNING_KEY;
      const lines: string[] = [];
      const without = await main(['audit', 'verify', '--checkpoints', path.join(w.dataDir, 'evidence')], (l) => lines.push(l), investigator);
      expect(without).toBe(EXIT.failure); // the key file's own signer is not the one that signed
      lines.length = 0;
      const code = await main(['audit', 'verify', '--checkpoints', path.join(w.dataDir, 'evidence'), '--public-key', pem], (l) => lines.push(l), investigator);
      expect({ code, out: lines.join('\n') }).toMatchObject({ code: EXIT.ok, out: expect.stringMatching(/checkpoints: 1 agree/) });
    } finally {
      await w.close();
    }
  });
});

describe('serve and upgrades', () => {
  it('serve writes a checkpoint on its schedule and at shutdown, into the configured directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-serve-cp-'));
    const env = { WAYBILL_DATA_DIR: dir, WAYBILL_AUDIT_CHECKPOINT_MINUTES: '0.005' }; // every 0.3 s
    const services = await openServices(loadConfig(env), () => {});
    const logs = new PassThrough();
    const logged: string[] = [];
    logs.on('data', (c: Buffer) => logged.push(...c.toString('utf8').split('\n').filter(Boolean)));
    const running = await serveCommand(['--port', '0'], services, () => {}, logs);
    try {
      await services.audit.append(entry(1));
      await new Promise((resolve) => setTimeout(resolve, 800));
    } finally {
      await running.shutdown();
      await services.close();
    }
    const lines = fs.readFileSync(path.join(dir, 'checkpoints', 'audit-checkpoints.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2); // at least one scheduled, and the one at shutdown
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ v: 1, seq: 2, count: 2, auditKeyId: 'a1' });
    expect(logged.map((l) => JSON.parse(l)).filter((e) => e.event === 'audit_checkpoint').length).toBe(lines.length);
    const out: string[] = [];
    expect(await main(['audit', 'verify'], (l) => out.push(l), env)).toBe(EXIT.ok);
    expect(out.at(-1)).toMatch(new RegExp(`^checkpoints: ${lines.length} agree`));
  });

  it('serve writes a checkpoint as it starts: a process killed before its first interval leaves one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-serve-cp-start-'));
    const env = { WAYBILL_DATA_DIR: dir, WAYBILL_AUDIT_CHECKPOINT_MINUTES: '60' };
    const services = await openServices(loadConfig(env), () => {});
    await services.audit.append(entry(1));
    const running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
    const file = path.join(dir, 'checkpoints', 'audit-checkpoints.jsonl');
    try {
      for (let i = 0; i < 100 && !fs.existsSync(file); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      // Read before shutdown, which writes its own.
      expect(fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ seq: 2, count: 2 })]);
    } finally {
      await running.shutdown();
      await services.close();
    }
  });

  it('a database and key file from before keying: the old plain chain verifies, keying starts at the first append', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-upgrade-keyed-'));
    fs.copyFileSync(path.join(__dirname, '..', 'store', 'fixtures', 'release-v10.sqlite'), path.join(dir, 'waybill.db'));
    // A key file as the release before wrote it: no audit keys yet.
    const old = { version: 1, activeKeyId: 'k1', masterKeys: { k1: randomBytes(32).toString('base64') }, tokenKey: randomBytes(32).toString('base64') };
    fs.writeFileSync(path.join(dir, 'keys.json'), JSON.stringify(old), { mode: 0o600 });
    const env = { WAYBILL_DATA_DIR: dir };
    const run = async (...argv: string[]) => {
      const lines: string[] = [];
      const code = await main(argv, (l) => lines.push(l), env);
      return { code, out: lines.join('\n') };
    };
    const before = await run('audit', 'verify');
    expect(before.code).toBe(EXIT.ok);
    // The first open binds the release's credentials and waybill states to their rows, on record (two
    // records): the first is the first append, so keying starts there (its audit_key record first), and the
    // old plain records before it verify.
    const n = Number(/intact: (\d+) records/.exec(before.out)![1]);
    expect(before.out).toContain(`keyed from record ${n - 2}; head linked under audit key a1`);
    const file = JSON.parse(fs.readFileSync(path.join(dir, 'keys.json'), 'utf8'));
    expect(file).toMatchObject({ ...old, auditActiveKeyId: 'a1', auditKeys: { a1: expect.any(String) }, auditSigningKey: expect.any(String), auditKeyedSince: expect.any(String) });
    expect((await run('audit', 'checkpoint')).code).toBe(EXIT.ok);
    const services = await openServices(loadConfig(env), () => {});
    try {
      await services.audit.append(entry(1));
    } finally {
      await services.close();
    }
    const after = await run('audit', 'verify');
    expect(after.code).toBe(EXIT.ok);
    expect(after.out).toContain(`audit log intact: ${n + 1} records`);
    expect(after.out).toContain(`keyed from record ${n - 2}; head linked under audit key a1`);
    expect(after.out).toMatch(/checkpoints: 1 agree/);
  });
});
