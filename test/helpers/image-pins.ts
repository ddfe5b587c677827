/**
 * notebook-image/versions.txt, read as notebook-image/versions.py reads it: one pinned Debian
 * package a line (`role package debian-version distribution version`, `#` comments), and the
 * comparison of those pins with what a machine reports. Pure.
 * @module
 */

export interface Pin {
  /** `path`: the server and kernel path the tests run; `base`: the data-science base. */
  role: 'path' | 'base';
  /** Debian package, e.g. `python3-jupyter-server`. */
  debianPackage: string;
  /** Its exact Debian version, or `any` (the interpreter: the archive's build of `version`). */
  debianVersion: string;
  /** The Python distribution it installs (`python` for the interpreter). */
  distribution: string;
  /** The version Python reports for it. */
  version: string;
}

/** Parses versions.txt; throws naming the line when one is malformed. */
export function parsePins(text: string): Pin[] {
  const pins: Pin[] = [];
  text.split('\n').forEach((line, i) => {
    const words = line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return;
    const [role, debianPackage, debianVersion, distribution, version] = words;
    if (words.length !== 5 || (role !== 'path' && role !== 'base')) {
      throw new Error(`versions.txt:${i + 1}: expected \`role package debian-version distribution version\``);
    }
    pins.push({
      role,
      debianPackage: debianPackage!,
      debianVersion: debianVersion!,
      distribution: distribution!,
      version: version!,
    });
  });
  if (pins.length === 0) throw new Error('versions.txt: no packages');
  return pins;
}

/** What a machine reports: Debian versions by package, Python versions by distribution (undefined: absent). */
export interface Reported {
  debian: Record<string, string | undefined>;
  python: Record<string, string | undefined>;
}

/** Every difference between the pins and what was reported; [] when they agree. */
export function pinDifferences(pins: readonly Pin[], got: Reported): string[] {
  const out: string[] = [];
  for (const p of pins) {
    const deb = got.debian[p.debianPackage];
    if (deb === undefined) out.push(`${p.debianPackage}: not installed, pinned ${p.debianVersion}`);
    else if (p.debianVersion !== 'any' && deb !== p.debianVersion) {
      out.push(`${p.debianPackage}: Debian version ${deb}, pinned ${p.debianVersion}`);
    }
    const py = got.python[p.distribution];
    if (py !== p.version) out.push(`${p.distribution}: reports ${py ?? 'nothing'}, pinned ${p.version}`);
  }
  return out;
}
