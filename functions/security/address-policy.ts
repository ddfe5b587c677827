/**
 * The address policy, one for IPv4 and IPv6, pure (node:net's BlockList does no I/O): which IP
 * addresses the function may connect to. Cloud metadata addresses are refused always; every
 * other non-public range (loopback, private, link-local, CGNAT, ULA, unspecified, multicast,
 * documentation, benchmarking, reserved) only where the caller says private addresses are fine.
 * An IPv6 address that carries an IPv4 one (mapped `::ffff:a.b.c.d`, SIIT, NAT64 `64:ff9b::/96`,
 * 6to4 `2002::/16`) is judged as that IPv4 address.
 *
 * Spec: RFC 6890 (special-purpose address registries), RFC 6052 (NAT64), RFC 3056 (6to4).
 * @module
 */
import { BlockList, isIP, isIPv4 } from 'node:net';

/** What an address is, for the policy and for messages. */
export interface AddressClass {
  /** `public`, or why it is not: `metadata` or a range label (`loopback`, `private`, …). */
  label: string;
  metadata: boolean;
  private: boolean;
  /** The IPv4 address it was judged as (for IPv6 forms that carry one). */
  v4?: string;
}

/** Cloud metadata endpoints: GCP/AWS/Azure/Oracle, AWS ECS and EKS, Alibaba, Azure's wire server. */
const METADATA_V4 = ['169.254.169.254', '169.254.170.2', '169.254.170.23', '100.100.100.200', '168.63.129.16'];
const METADATA_V6 = ['fd00:ec2::254', 'fd00:ec2::23'];

/** Non-public IPv4 ranges, most specific label first. */
const V4_RANGES: Array<[string, string[]]> = [
  ['unspecified', ['0.0.0.0/8']],
  ['loopback', ['127.0.0.0/8']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']],
  ['link-local', ['169.254.0.0/16']],
  ['shared (CGNAT)', ['100.64.0.0/10']],
  ['IETF protocol', ['192.0.0.0/24']],
  ['documentation', ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24']],
  ['6to4 relay', ['192.88.99.0/24']],
  ['benchmarking', ['198.18.0.0/15']],
  ['multicast', ['224.0.0.0/4']],
  ['reserved', ['240.0.0.0/4']],
];

/** Non-public IPv6 ranges (forms that carry an IPv4 address are judged before these). */
const V6_RANGES: Array<[string, string[]]> = [
  ['unspecified', ['::/128']],
  ['loopback', ['::1/128']],
  ['IPv4-compatible', ['::/96']],
  ['discard-only', ['100::/64']],
  ['local NAT64', ['64:ff9b:1::/48']],
  ['IETF protocol', ['2001::/23']],
  ['documentation', ['2001:db8::/32', '3fff::/20']],
  ['unique local', ['fc00::/7']],
  ['link-local', ['fe80::/10']],
  ['site-local', ['fec0::/10']],
  ['multicast', ['ff00::/8']],
];

function blockLists(ranges: Array<[string, string[]]>, type: 'ipv4' | 'ipv6'): Array<[string, BlockList]> {
  return ranges.map(([label, cidrs]) => {
    const list = new BlockList();
    for (const c of cidrs) {
      const [net, bits] = c.split('/');
      list.addSubnet(net!, Number(bits), type);
    }
    return [label, list];
  });
}

const V4 = blockLists(V4_RANGES, 'ipv4');
const V6 = blockLists(V6_RANGES, 'ipv6');
const METADATA = new BlockList();
for (const a of METADATA_V4) METADATA.addAddress(a, 'ipv4');
for (const a of METADATA_V6) METADATA.addAddress(a, 'ipv6');

/** Classifies an IP address (IPv6 without brackets); undefined when `ip` is not an IP address. */
export function classifyIp(ip: string): AddressClass | undefined {
  const family = isIP(ip);
  if (family === 0) return undefined;
  if (family === 4) return classifyV4(ip);
  const groups = ipv6Groups(ip);
  if (!groups) return undefined;
  const v4 = embeddedV4(groups);
  if (v4 !== undefined) return { ...classifyV4(v4), v4 };
  const text = groups.map((g) => g.toString(16)).join(':');
  if (METADATA.check(text, 'ipv6')) return { label: 'metadata', metadata: true, private: true };
  for (const [label, list] of V6) if (list.check(text, 'ipv6')) return { label, metadata: false, private: true };
  return { label: 'public', metadata: false, private: false };
}

function classifyV4(ip: string): AddressClass {
  if (METADATA.check(ip, 'ipv4')) return { label: 'metadata', metadata: true, private: true };
  for (const [label, list] of V4) if (list.check(ip, 'ipv4')) return { label, metadata: false, private: true };
  return { label: 'public', metadata: false, private: false };
}

/** Why `ip` may not be connected to (`privateOk`: the host was named exactly), or undefined when it may. */
export function refusedAddress(ip: string, privateOk: boolean): { shown: string; kind: string } | undefined {
  const c = classifyIp(ip);
  if (!c) return { shown: ip, kind: 'not an IP address' };
  const shown = c.v4 && c.v4 !== ip ? `${ip} (${c.v4})` : ip;
  if (c.metadata) return { shown, kind: 'a cloud metadata address' };
  if (c.private && !privateOk) return { shown, kind: `a private address (${c.label})` };
  return undefined;
}

/** {@link refusedAddress} as a sentence: `127.0.0.1 is a private address (loopback)`. */
export function refusal(ip: string, privateOk: boolean): string | undefined {
  const r = refusedAddress(ip, privateOk);
  return r && `${r.shown} is ${r.kind}`;
}

/** True for cloud metadata addresses, in any IPv4 or IPv6 form the policy reads. */
export function isMetadataIp(ip: string): boolean {
  return classifyIp(ip)?.metadata === true;
}

/** True for every address that is not public (metadata included). */
export function isPrivateAddress(ip: string): boolean {
  return classifyIp(ip)?.private === true;
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail allowed); undefined if malformed. */
export function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.toLowerCase();
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    if (!isIPv4(tail[2]!)) return undefined;
    const b = tail[2]!.split('.').map(Number);
    text = `${tail[1]}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const part = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = part(halves[0]!);
  const rest = halves.length === 2 ? part(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return all.map((g) => parseInt(g, 16));
}

/** The IPv4 address an IPv6 one carries: mapped, SIIT-translated, NAT64 well-known prefix, 6to4. */
function embeddedV4(g: number[]): string | undefined {
  const zero = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0);
  const dotted = (hi: number, lo: number): string => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  if (zero(0, 5) && g[5] === 0xffff) return dotted(g[6]!, g[7]!); // ::ffff:a.b.c.d
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return dotted(g[6]!, g[7]!); // ::ffff:0:a.b.c.d
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return dotted(g[6]!, g[7]!); // 64:ff9b::a.b.c.d
  if (g[0] === 0x2002) return dotted(g[1]!, g[2]!); // 2002:AABB:CCDD::/48
  return undefined;
}
