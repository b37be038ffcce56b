// The printer network policy on its own: which addresses a printer may have (the private ranges by
// default; loopback, link-local, unspecified, multicast and broadcast only when a listed range lies
// inside them; the service's own port on this machine never), host names checked on every address they
// resolve to, and the address a send connects to being the one checked. No connection is made here.

import { loadConfig } from '../../src/config/config';
import { PrinterRefused, addressRefusal, checkHost, networkPolicy, parseCidr, printerAddress, type LookupAll } from '../../src/printers/networkPolicy';
import { SendFailure } from '../../src/printers/rawTcp';

const DEFAULT = loadConfig({}).printers.networks;
const policy = (ranges: readonly string[] = DEFAULT, ownPorts: number[] = [8080], local: string[] = ['10.0.0.7', 'fe80::1234']) =>
  networkPolicy(ranges, () => ownPorts, () => local);
const kindOf = (address: string, p = policy(), port = 9100) => addressRefusal(address, port, p)?.kind ?? 'allowed';

describe('WAYBILL_PRINTER_NETWORKS', () => {
  it('defaults to the private ranges, and a bad list names the variable', () => {
    expect(DEFAULT).toEqual(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']);
    expect(loadConfig({ WAYBILL_PRINTER_NETWORKS: '127.0.0.1/32, ::1/128' }).printers.networks).toEqual(['127.0.0.1/32', '::1/128']);
    for (const bad of ['', '10/8', '10.0.0.0', '10.0.0.0/33', 'printer.local/24', '10.0.0.0/8;fc00::/7'])
      expect(() => loadConfig({ WAYBILL_PRINTER_NETWORKS: bad })).toThrow(/WAYBILL_PRINTER_NETWORKS: must be CIDR ranges/);
  });

  it('reads an IPv4-mapped IPv6 range as the IPv4 range it maps, and four-part IPv4 only', () => {
    expect(parseCidr('::ffff:127.0.0.1/128')!.map(String)).toEqual(['127.0.0.1', '32']);
    expect(parseCidr('10/8')).toBeUndefined(); // would otherwise read as 0.0.0.10/8, which is "this host"
  });
});

describe('addressRefusal', () => {
  it('allows the private ranges by default and refuses everything else, naming the field and the ranges', () => {
    for (const a of ['10.20.0.17', '172.16.5.5', '192.168.1.50', 'fd00::17', '::ffff:10.20.0.17']) expect(kindOf(a)).toBe('allowed');
    expect(addressRefusal('8.8.8.8', 9100, policy())).toEqual({
      path: 'host',
      kind: 'unlisted',
      message: 'is an address not in WAYBILL_PRINTER_NETWORKS (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7)',
    });
    expect(kindOf('172.32.0.1')).toBe('unlisted');
    expect(kindOf('2001:db8::1')).toBe('unlisted');
  });

  it('refuses loopback, link-local, unspecified, multicast and broadcast addresses, also as IPv4-mapped IPv6', () => {
    const cases: [string, string][] = [
      ['127.0.0.1', 'loopback'],
      ['127.8.9.10', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['::ffff:0.0.0.0', 'unspecified'],
      ['224.0.0.1', 'multicast'],
      ['ff02::1', 'multicast'],
      ['255.255.255.255', 'broadcast'],
    ];
    for (const [address, kind] of cases) expect([address, kindOf(address)]).toEqual([address, kind]);
    expect(addressRefusal('127.0.0.1', 9100, policy())!.message).toBe('is a loopback address, refused unless listed in WAYBILL_PRINTER_NETWORKS');
  });

  it('allows a special address only when a listed range lies inside its special range', () => {
    const listed = policy(['127.0.0.1/32', '169.254.10.0/24']);
    expect(kindOf('127.0.0.1', listed)).toBe('allowed');
    expect(kindOf('::ffff:127.0.0.1', listed)).toBe('allowed');
    expect(kindOf('127.0.0.2', listed)).toBe('loopback');
    expect(kindOf('169.254.10.9', listed)).toBe('allowed');
    expect(kindOf('169.254.169.254', listed)).toBe('link-local');
    // "Everything" is not an explicit listing of loopback or the unspecified address.
    const everything = policy(['0.0.0.0/0', '::/0']);
    expect(kindOf('8.8.8.8', everything)).toBe('allowed');
    for (const a of ['127.0.0.1', '::1', '0.0.0.0', '::', '169.254.169.254', 'fe80::1']) expect(kindOf(a, everything)).not.toBe('allowed');
    expect(kindOf('0.0.0.0', policy(['0.0.0.0/32']))).toBe('allowed');
  });

  it('refuses IPv6 forms of IPv4 addresses (NAT64, 6to4, Teredo, IPv4-compatible) and reserved ranges unless listed', () => {
    const everything = policy(['0.0.0.0/0', '::/0']);
    const translated = ['64:ff9b::a9fe:a9fe', '64:ff9b::a00:1', '64:ff9b:1::a9fe:a9fe', '2002:a9fe:a9fe::', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '::a9fe:a9fe', 'fec0::1', '100::1'];
    for (const a of [...translated, '198.18.0.1', '240.0.0.1', '192.0.0.170']) expect([a, kindOf(a, everything)]).toEqual([a, 'reserved']);
    expect(kindOf('::127.0.0.1', everything)).toBe('loopback'); // written with dots, it is read as the IPv4 address
    // Listing the IPv4 range behind a translated address does not let the translated form in; listing it does.
    expect(kindOf('64:ff9b::a00:1', policy(['10.0.0.0/8']))).toBe('reserved');
    expect(kindOf('64:ff9b::a00:1', policy(['64:ff9b::a00:0/120']))).toBe('allowed');
    expect(kindOf('2001:db8::1', everything)).toBe('allowed'); // an ordinary IPv6 address
  });

  it('connects to the address it checked, written as checked: ::a.b.c.d and ::ffff:a.b.c.d go to a.b.c.d', async () => {
    const listed = policy(['127.0.0.1/32', '10.0.0.0/8']);
    for (const [typed, checked] of [['::127.0.0.1', '127.0.0.1'], ['[::ffff:10.1.2.3]', '10.1.2.3'], ['10.1.2.3', '10.1.2.3'], ['fe80::0001', 'fe80::1']] as const)
      expect([typed, await checkHost(typed, 9100, typed.startsWith('fe80') ? policy(['fe80::/10']) : listed)]).toEqual([typed, { address: checked }]);
  });

  it("refuses the service's own port on any address of this machine, even when listed", () => {
    const listed = policy(['127.0.0.0/8', '0.0.0.0/32', '10.0.0.0/8', '::1/128', 'fe80::/10'], [8080, 41234]);
    for (const a of ['127.0.0.1', '127.0.0.5', '0.0.0.0', '::1', '::ffff:127.0.0.1', '10.0.0.7', 'fe80::1234'])
      expect([a, addressRefusal(a, 41234, listed)]).toEqual([a, { path: 'port', kind: 'own-port', message: "is this service's own listening port and the host is this machine; refused even when listed" }]);
    expect(kindOf('127.0.0.1', listed, 9100)).toBe('allowed');
    expect(kindOf('10.0.0.8', listed, 8080)).toBe('allowed'); // another machine's 8080
    // Unlisted, it is refused anyway; the own-port reason comes first as it holds whatever is listed.
    expect(kindOf('127.0.0.1', policy(), 8080)).toBe('own-port');
  });
});

describe('checkHost and printerAddress', () => {
  const answers =
    (...rounds: string[][]): LookupAll & { calls: string[] } => {
      const calls: string[] = [];
      return Object.assign(async (host: string) => {
        calls.push(host);
        const answer = rounds[Math.min(calls.length, rounds.length) - 1]!;
        if (!answer.length) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
        return answer;
      }, { calls });
    };

  it('checks every address a name resolves to, and gives the first to connect to', async () => {
    expect(await checkHost('dock-2.wh.internal', 9100, policy(), answers(['10.20.0.17', 'fd00::17']))).toEqual({ address: '10.20.0.17' });
    expect(await checkHost('dock-2.wh.internal', 9100, policy(), answers(['10.20.0.17', '127.0.0.1']))).toEqual({
      refusal: { path: 'host', kind: 'loopback', message: 'resolves to a loopback address, refused unless listed in WAYBILL_PRINTER_NETWORKS' },
    });
    expect(await checkHost('nowhere.wh.internal', 9100, policy(), answers([]))).toEqual({ refusal: { path: 'host', kind: 'unresolved', message: 'does not resolve to an address' } });
  });

  it('takes IP literals as they are (bracketed IPv6 too) and resolves anything else, so 127.1 or 2130706433 cannot slip through', async () => {
    const lookup = answers(['127.0.0.1']);
    expect(await checkHost('[::1]', 9100, policy(), lookup)).toMatchObject({ refusal: { kind: 'loopback' } });
    expect(await checkHost('127.0.0.1', 9100, policy(), lookup)).toMatchObject({ refusal: { kind: 'loopback' } });
    expect(lookup.calls).toEqual([]);
    // The system resolver reads these as 127.0.0.1, as a connection would.
    expect(await checkHost('127.1', 9100, policy())).toMatchObject({ refusal: { kind: 'loopback' } });
    expect(await checkHost('2130706433', 9100, policy())).toMatchObject({ refusal: { kind: 'loopback' } });
    expect(await checkHost('localhost', 9100, policy())).toMatchObject({ refusal: { kind: 'loopback', message: expect.stringMatching(/^resolves to a loopback address/) } });
  });

  it('connects to the address it checked: a name that resolves elsewhere later (rebinding) is checked again and cannot swap it', async () => {
    const lookup = answers(['10.20.0.17'], ['127.0.0.1']);
    expect(await printerAddress({ host: 'dock-2.wh.internal', port: 9100 }, policy(), lookup)).toEqual({ host: '10.20.0.17', port: 9100 });
    const refused = await printerAddress({ host: 'dock-2.wh.internal', port: 9100 }, policy(), lookup).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PrinterRefused);
    expect(refused).toMatchObject({ kind: 'loopback', message: 'its address is not allowed by the printer network policy (WAYBILL_PRINTER_NETWORKS); nothing was sent' });
    // A name that does not resolve now is a send that reached nothing: worth retrying, unlike a refusal.
    const missing = await printerAddress({ host: 'dock-2.wh.internal', port: 9100 }, policy(), answers([])).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(SendFailure);
    expect(missing).toMatchObject({ nothingSent: true, message: 'host name not found' });
  });
});
