import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Finds paths that point outside the repository: the sibling shared folder,
 * absolute filesystem paths under the usual roots of Linux, macOS and Nix
 * (home, temp and system folders), Windows drive paths, file URLs and home
 * paths with a tilde. Kernel interfaces (proc, dev, sys) are allowed: they are
 * the same on every Linux and hold no one's files.
 *
 * A root counts only where a path can start (line start, space, quote,
 * bracket, =, :), so `src/lib/x`, `./tmp`, `http://host/var` and
 * `mysql://root@host` do not match. A shebang (`#!` on line 1) is exempt.
 */
const ROOTS = [
  'work', 'tmp', 'root', 'home', 'Users', 'var', 'opt', 'srv', 'mnt', 'media', 'etc', 'usr',
  'bin', 'sbin', 'lib', 'lib64', 'nix', 'private', 'Volumes', 'snap', 'run', 'boot', 'Library',
];
const OUTSIDE = new RegExp(
  [
    String.raw`\.\.[\\/]shared\b`,
    String.raw`['"\x60]\.\.['"\x60]\s*,\s*['"\x60]shared\b`, // the same, as path.join arguments
    String.raw`(?<![\w.\/\\~$}@-])\/(?:${ROOTS.join('|')})(?=[\/\s'"\x60:;,)\]}>]|$)`,
    String.raw`(?<![\w])[A-Za-z]:\\[\w.$]`,
    String.raw`\bfile:\/\/\/`,
    String.raw`(?<![\w.\/~])~\/`,
  ].join('|'),
  'g',
);

/** Every path outside the repo found in one line's text (the matched fragments). */
export function outsidePaths(line: string): string[] {
  return [...line.matchAll(OUTSIDE)].map((m) => m[0]);
}

/** One finding: `file` relative to the scanned root, 1-based `line`, the matched `text`. */
export interface Finding {
  file: string;
  line: number;
  text: string;
}

/**
 * The files of the repository at `root`, relative to it, `/`-separated:
 * `git ls-files` when `root` is the top of a git checkout, otherwise a walk of
 * the tree without what .gitignore-style build output holds (node_modules,
 * dist, .git and the directories listed in `root/.gitignore`).
 * package-lock.json is left out: it names registry URLs, not paths, and is
 * not written by hand.
 */
export function repoFiles(root: string): { files: string[]; source: 'git' | 'walk' } {
  const skip = (f: string) => f === 'package-lock.json' || f.endsWith('/package-lock.json');
  let top: string | undefined;
  try {
    top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    top = undefined;
  }
  if (top && realpathSync(top) === realpathSync(root)) {
    const out = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const files = out.split('\0').filter((f) => f && !skip(f) && existsSync(join(root, f)));
    return { files, source: 'git' };
  }
  const ignored = ignoredDirs(root);
  const files: string[] = [];
  (function walk(dir: string) {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (e.isDirectory()) {
        if (!ignored.has(e.name) && !ignored.has(rel)) walk(abs);
      } else if (e.isFile() && !skip(rel)) files.push(rel);
    }
  })(root);
  return { files: files.sort(), source: 'walk' };
}

/** Directory names (anywhere) and paths (from the root) to leave out of a walk. */
function ignoredDirs(root: string): Set<string> {
  const dirs = new Set(['node_modules', 'dist', '.git']);
  const gitignore = join(root, '.gitignore');
  if (existsSync(gitignore)) {
    for (const raw of readFileSync(gitignore, 'utf8').split('\n')) {
      const l = raw.trim();
      if (l.endsWith('/') && !l.startsWith('#') && !l.startsWith('!')) dirs.add(l.replace(/^\//, '').replace(/\/$/, ''));
    }
  }
  return dirs;
}

/** Every path outside the repo in the given files (text files only), in file and line order. */
export function scanFiles(root: string, files: string[]): Finding[] {
  const found: Finding[] = [];
  for (const file of files) {
    const buf = readFileSync(join(root, file));
    if (buf.includes(0)) continue; // binary
    buf.toString('utf8').split('\n').forEach((text, i) => {
      if (i === 0 && text.startsWith('#!')) return; // a shebang must name its interpreter absolutely
      for (const m of outsidePaths(text)) found.push({ file, line: i + 1, text: m });
    });
  }
  return found;
}
