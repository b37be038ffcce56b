// Which addresses a network printer may have. A printer is sent raw bytes holding QR tokens, so it must
// be a printer on the warehouse network, never a database port, this service itself or a metadata
// address: only addresses inside WAYBILL_PRINTER_NETWORKS are allowed, and the special ranges (loopback,
// link-local, unspecified, multicast, broadcast, reserved) only when a listed range lies inside them, so a broad
// entry such as 0.0.0.0/0 never lets loopback in by accident. The service's own port on an address of
// this machine is refused even when listed. Host names are resolved and every address checked, at
// registration and before every send; the send then connects to the checked address, never re-resolving,
// so a DNS answer that changes in between (rebinding) cannot redirect it.

import { lookup } from 'node:dns/promises';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { PrinterAddress } from './rawTcp';
import { SendFailure } from './rawTcp';

type Ip = ipaddr.IPv4 | ipaddr.IPv6;
export type Cidr = [Ip, number];

export type SpecialRange = 'loopback' | 'link-local' | 'unspecified' | 'multicast' | 'broadcast' | 'reserved' | 'private';

const SPECIAL: [SpecialRange, Cidr][] = (
  [
    ['loopback', '127.0.0.0/8'],
    ['loopback', '::1/128'],
    ['link-local', '169.254.0.0/16'],
    ['link-local', 'fe80::/10'],
    // 0.0.0.0/8 is "this host": connecting to 0.0.0.0 reaches this machine.
    ['unspecified', '0.0.0.0/8'],
    ['unspecified', '::/128'],
    ['multicast', '224.0.0.0/4'],
    ['multicast', 'ff00::/8'],
    ['broadcast', '255.255.255.255/32'],
    // IPv6 forms of IPv4 addresses, which a translating network delivers to the IPv4 address inside:
    // 64:ff9b::a9fe:a9fe is the metadata address through NAT64. Listing a plain IPv4 range never lets them in.
    ['reserved', '64:ff9b::/96'], // NAT64
    ['reserved', '64:ff9b:1::/48'], // local NAT64
    ['reserved', '2002::/16'], // 6to4
    ['reserved', '2001::/32'], // Teredo
    ['reserved', '::/96'], // IPv4-compatible (deprecated)
    ['reserved', 'fec0::/10'], // site-local (deprecated)
    ['reserved', '100::/64'], // discard-only
    ['reserved', '192.0.0.0/24'], // IETF protocol assignments
    ['reserved', '198.18.0.0/15'], // benchmarking
    ['reserved', '240.0.0.0/4'], // reserved for future use
  ] as const
).map(([kind, range]) => [kind, parseCidr(range)!]);

/**
 * One CIDR range; undefined when it is not one. IPv4 must be four-part decimal ("10/8" would otherwise
 * read as 0.0.0.10/8); an IPv4-mapped IPv6 range is taken as the IPv4 range it maps.
 */
export function parseCidr(text: string): Cidr | undefined {
  const entry = text.trim();
  if (ipaddr.IPv4.isValidCIDRFourPartDecimal(entry)) return ipaddr.IPv4.parseCIDR(entry);
  if (!entry.includes(':') || !ipaddr.IPv6.isValidCIDR(entry)) return undefined;
  const [ip, bits] = ipaddr.IPv6.parseCIDR(entry);
  return ip.isIPv4MappedAddress() && bits >= 96 ? [ip.toIPv4Address(), bits - 96] : [ip, bits];
}

export interface NetworkPolicy {
  networks: readonly Cidr[];
  /** The ranges as configured, for messages. */
  listed: string;
  /** The ports this service listens on: never a printer's on an address of this machine. */
  ownPorts: () => readonly number[];
  /** The addresses of this machine's interfaces (os.networkInterfaces()). */
  localAddresses: () => readonly string[];
  /** The setting the ranges come from, for messages (default WAYBILL_PRINTER_NETWORKS; webhooks reuse this policy). */
  setting?: string;
  /** More ranges refused unless a listed range lies inside them (webhooks: the private ranges). */
  reserved?: readonly [SpecialRange, Cidr][];
}

/** The private ranges, reserved for webhooks: an endpoint inside the warehouse network only when listed. */
export const PRIVATE_RANGES: readonly [SpecialRange, Cidr][] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'].map(
  (r) => ['private', parseCidr(r)!] as [SpecialRange, Cidr],
);

export function networkPolicy(
  ranges: readonly string[],
  ownPorts: NetworkPolicy['ownPorts'],
  localAddresses: NetworkPolicy['localAddresses'],
  more: Pick<NetworkPolicy, 'setting' | 'reserved'> = {},
): NetworkPolicy {
  const networks = ranges.map((r) => {
    const cidr = parseCidr(r);
    if (!cidr) throw new Error(`${more.setting ?? 'WAYBILL_PRINTER_NETWORKS'}: not a CIDR range list`); // the config refuses it first
    return cidr;
  });
  return { networks, listed: ranges.map((r) => r.trim()).join(', '), ownPorts, localAddresses, ...more };
}

/** Why a printer may not be at an address: which field, what to tell the operator, and the kind for the audit. */
export interface Refusal {
  path: 'host' | 'port';
  kind: SpecialRange | 'unlisted' | 'own-port' | 'unresolved';
  message: string;
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is checked as the IPv4 address it reaches. */
function toIp(address: string): Ip | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  const ip = ipaddr.parse(address);
  return ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip;
}

function inRange(ip: Ip, [net, bits]: Cidr): boolean {
  return ip.kind() === net.kind() && ip.match(net, bits);
}

/** A listed range counts for a special range only if it lies wholly inside it. */
function within([net, bits]: Cidr, outer: Cidr): boolean {
  return bits >= outer[1] && inRange(net, outer);
}

/**
 * Why a printer may not be at this resolved address and port, or undefined when it may. `viaName` says
 * the operator gave a host name (the message then says what it resolves to).
 */
export function addressRefusal(address: string, port: number, policy: NetworkPolicy, viaName = false): Refusal | undefined {
  const is = viaName ? 'resolves to' : 'is';
  const setting = policy.setting ?? 'WAYBILL_PRINTER_NETWORKS';
  const ip = toIp(address);
  if (!ip) return { path: 'host', kind: 'unlisted', message: `${is} not an IP address in ${setting} (${policy.listed})` };
  const special = [...SPECIAL, ...(policy.reserved ?? [])].find(([, range]) => inRange(ip, range));
  const thisMachine =
    special?.[0] === 'loopback' ||
    special?.[0] === 'unspecified' ||
    policy.localAddresses().some((a) => {
      const local = toIp(a);
      return local !== undefined && local.kind() === ip.kind() && local.toNormalizedString() === ip.toNormalizedString();
    });
  if (thisMachine && policy.ownPorts().includes(port))
    return { path: 'port', kind: 'own-port', message: "is this service's own listening port and the host is this machine; refused even when listed" };
  if (policy.networks.some((n) => inRange(ip, n) && (!special || within(n, special[1])))) return undefined;
  if (special)
    return { path: 'host', kind: special[0], message: `${is} ${special[0] === 'unspecified' ? 'an' : 'a'} ${special[0]} address, refused unless listed in ${setting}` };
  return { path: 'host', kind: 'unlisted', message: `${is} an address not in ${setting} (${policy.listed})` };
}

/** Every address a host name resolves to (IPv4 and IPv6), as the system resolver answers. */
export type LookupAll = (host: string) => Promise<string[]>;

export const lookupAll: LookupAll = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

export type HostCheck = { address: string } | { refusal: Refusal };

/**
 * Resolves a printer's host and checks every address it resolves to (one refused address refuses the
 * host: which one a connection would use is the resolver's choice). Gives the first address, the one to
 * connect to. A name that does not resolve is refused with kind 'unresolved'.
 */
export async function checkHost(host: string, port: number, policy: NetworkPolicy, resolve: LookupAll = lookupAll): Promise<HostCheck> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const literal = net.isIP(bare) !== 0;
  let addresses: string[];
  try {
    addresses = literal ? [bare] : await resolve(bare);
  } catch {
    addresses = [];
  }
  if (!addresses.length) return { refusal: { path: 'host', kind: 'unresolved', message: 'does not resolve to an address' } };
  for (const a of addresses) {
    const refusal = addressRefusal(a, port, policy, !literal);
    if (refusal) return { refusal };
  }
  // The address as it was checked: ipaddr reads '::127.0.0.1' as the IPv4-mapped 127.0.0.1, where a
  // socket given the text would reach the IPv4-compatible ::7f00:1, another address.
  return { address: toIp(addresses[0]!)!.toString() };
}

/** A send refused by the policy: permanent until the printer's host or the policy changes. Names no address. */
export class PrinterRefused extends Error {
  constructor(readonly kind: Refusal['kind']) {
    super('its address is not allowed by the printer network policy (WAYBILL_PRINTER_NETWORKS); nothing was sent');
    this.name = 'PrinterRefused';
  }
}

/**
 * The address to connect to for a printer right now: its host resolved and checked. Throws PrinterRefused
 * when the policy refuses it, and a SendFailure (nothing sent, worth retrying) when the name does not resolve.
 */
export async function printerAddress(printer: PrinterAddress, policy: NetworkPolicy, resolve: LookupAll = lookupAll): Promise<PrinterAddress> {
  const checked = await checkHost(printer.host, printer.port, policy, resolve);
  if ('address' in checked) return { host: checked.address, port: printer.port };
  if (checked.refusal.kind === 'unresolved') throw new SendFailure('host name not found', true);
  throw new PrinterRefused(checked.refusal.kind);
}
