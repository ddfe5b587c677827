/**
 * Encodings of forbidden addresses for the SSRF fault tests: the listed numeric spellings, and a
 * fast-check generator of random ones (decimal, octal, hex, short forms, IPv6 compressions,
 * mapped IPv4, NAT64, trailing dots, mixed case) of loopback, metadata and private targets.
 * @module
 */
import fc from 'fast-check';

/** Spellings that a name check once saw as written while the HTTP client canonicalised them. */
export const LISTED_SPELLINGS = [
  '2130706433',
  '0x7f.1',
  '0177.0.0.1',
  '127.1',
  '0',
  '0x7f000001',
  '017700000001',
  '[0:0::1]',
  '[::0:1]',
  '[0:0:0:0:0:ffff:7f00:1]',
  '2852039166',
  '0xa9fea9fe',
  '0251.0376.0251.0376',
  '169.254.43518',
  '169.254.169.254.',
  '[0:0:0:0:0:ffff:a9fe:a9fe]',
];

/** An encoded address and the dotted IPv4 / the eight IPv6 groups it stands for. */
export interface Spelling {
  text: string;
  v4?: string;
  v6?: number[];
}

const byte = fc.integer({ min: 0, max: 255 });
/** Forbidden IPv4 targets: loopback, metadata, private, unspecified, link-local. */
const v4Target: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(byte, byte, byte).map(([b, c, d]) => [127, b, c, d]),
  fc.constant<number[]>([169, 254, 169, 254]),
  fc.tuple(byte, byte, byte).map(([b, c, d]) => [10, b, c, d]),
  fc.tuple(byte, byte).map(([c, d]) => [192, 168, c, d]),
  fc.tuple(fc.integer({ min: 16, max: 31 }), byte, byte).map(([b, c, d]) => [172, b, c, d]),
  fc.constant<number[]>([0, 0, 0, 0]),
  fc.tuple(byte, byte).map(([c, d]) => [169, 254, c, d]),
);

/** A number in decimal, octal (leading 0) or hex (0x, 0X, mixed-case digits). */
function numberIn(n: number, radix: 'd' | 'o' | 'x', upper: boolean[]): string {
  if (radix === 'd') return String(n);
  if (radix === 'o') return `0${n.toString(8)}`;
  const hex = n
    .toString(16)
    .split('')
    .map((ch, i) => (upper[i % upper.length] ? ch.toUpperCase() : ch))
    .join('');
  return `${upper[0] ? '0X' : '0x'}${hex}`;
}

const radix = fc.constantFrom('d', 'o', 'x') as fc.Arbitrary<'d' | 'o' | 'x'>;
const cases = fc.array(fc.boolean(), { minLength: 1, maxLength: 8 });

/** IPv4 spellings: 4, 3, 2 or 1 parts, each part in its own radix, maybe a trailing dot. */
export const v4Spelling: fc.Arbitrary<Spelling> = fc
  .tuple(v4Target, fc.integer({ min: 1, max: 4 }), fc.array(radix, { minLength: 4, maxLength: 4 }), cases, fc.boolean())
  .map(([b, parts, radixes, upper, dot]) => {
    const value = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
    let nums: number[];
    if (parts === 4) nums = b;
    else if (parts === 3) nums = [b[0]!, b[1]!, (b[2]! << 8) + b[3]!];
    else if (parts === 2) nums = [b[0]!, value & 0xffffff];
    else nums = [value];
    const text = nums.map((n, i) => numberIn(n, radixes[i]!, upper)).join('.') + (dot ? '.' : '');
    return { text, v4: b.join('.') };
  });

const hexGroup = (g: number, width: number, upper: boolean): string => {
  const h = g.toString(16).padStart(width, '0');
  return upper ? h.toUpperCase() : h;
};

/** Forbidden IPv6 targets as eight groups: ::1, unspecified, mapped/NAT64 forbidden IPv4, ULA, link-local. */
const v6Target: fc.Arbitrary<number[]> = fc.oneof(
  fc.constant<number[]>([0, 0, 0, 0, 0, 0, 0, 1]),
  fc.constant<number[]>([0, 0, 0, 0, 0, 0, 0, 0]),
  v4Target.map((b) => [0, 0, 0, 0, 0, 0xffff, (b[0]! << 8) + b[1]!, (b[2]! << 8) + b[3]!]),
  v4Target.map((b) => [0x64, 0xff9b, 0, 0, 0, 0, (b[0]! << 8) + b[1]!, (b[2]! << 8) + b[3]!]),
  fc
    .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 })
    .map((g) => [0xfd00 | (g[0]! & 0xff), ...g.slice(1), 1]),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 }).map((g) => [0xfe80, 0, 0, 0, ...g]),
  fc.constant<number[]>([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]),
);

/** IPv6 spellings: any run of zeros compressed (or none), leading zeros, mixed case, a dotted tail. */
export const v6Spelling: fc.Arbitrary<Spelling> = fc
  .tuple(v6Target, fc.nat(), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.boolean())
  .map(([g, pick, width, upper, dottedTail]) => {
    const groups = g.map((x) => hexGroup(x, width, upper));
    // The tail as dotted IPv4 when the address carries one (mapped, NAT64).
    const tail =
      dottedTail && (g[5] === 0xffff || g[0] === 0x64)
        ? `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`
        : undefined;
    const head = tail ? groups.slice(0, 6) : groups;
    const zeroRuns: Array<[number, number]> = [];
    for (let i = 0; i < head.length; i++) {
      for (let j = i; j < head.length && g[j] === 0; j++) zeroRuns.push([i, j + 1]);
    }
    const run = zeroRuns.length > 0 && pick % 3 !== 0 ? zeroRuns[pick % zeroRuns.length] : undefined;
    let text: string;
    if (run) {
      const left = head.slice(0, run[0]).join(':');
      const right = [...head.slice(run[1]), ...(tail ? [tail] : [])].join(':');
      text = `${left}::${right}`;
    } else {
      text = [...head, ...(tail ? [tail] : [])].join(':');
    }
    return { text: `[${text}]`, v6: g };
  });

/** Any spelling of a forbidden address. */
export const forbiddenSpelling: fc.Arbitrary<Spelling> = fc.oneof(v4Spelling, v6Spelling);
