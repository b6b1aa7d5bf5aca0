import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { outsidePaths, repoFiles, scanFiles } from '../support/repo-scan';

/** The repository root (this file runs from dist/test/unit). */
const root = join(__dirname, '..', '..', '..');

/** Joins with '/': planted paths are built, so this file holds none itself. */
const p = (...parts: string[]) => parts.join('/');
const SHARED = ['sh', 'ared'].join('');

test('no tracked file names a path outside the repo', () => {
  const { files, source } = repoFiles(root);
  assert.ok(files.length > 50, `only ${files.length} files found (${source})`);
  assert.ok(files.includes('src/main.ts') && files.includes('README.md'), `the listing (${source}) misses the sources`);
  const found = scanFiles(root, files).map((f) => `${f.file}:${f.line}: ${f.text}`);
  assert.deepEqual(found, [], `paths outside the repo (use paths relative to the repo, or os.tmpdir()):\n  ${found.join('\n  ')}`);
});

test('the matcher: outside paths in any position, and none of the repo-relative or URL look-alikes', () => {
  const outside = [
    `const contract = '${p('..', SHARED, 'contract', 'schema.graphql')}';`,
    `const contract = join(root, '..', ${"'"}shared', 'contract');`,
    `see ${p('', 'work', SHARED, 'design', 'delivery.md')}`,
    `HOME ?? '${p('', 'tmp')}'`,
    `cd "${p('', 'root', 'im')}"`,
    `(${p('', 'home', 'me', 'im-server')})`,
    `PATH=${p('', 'usr', 'bin')}:${p('', 'bin')}`,
    `--exec ${p('', 'usr', 'sbin', 'mariadbd')}`,
    `\`${p('', 'Users', 'me', 'x')}\``,
    `datadir=${p('', 'var', 'lib', 'mysql')}`,
    `url: 'file://${p('', 'srv', 'x')}'`,
    `C:${'\\'}Users${'\\'}me`,
    `~${'/'}.npmrc`,
  ];
  for (const line of outside) assert.notDeepEqual(outsidePaths(line), [], `missed: ${line}`);
  const inside = [
    "import { x } from '../../src/config';",
    'bench/lib/util.ts and test/support/harness.ts',
    "app.get('/healthz'), POST /graphql, ws://localhost:4000/graphql",
    `DATABASE_URL=mysql://root@127.0.0.1:3306/im and redis://127.0.0.1:6379`,
    // Spelled in parts so that a plain grep of the repo for outside paths does not stop here.
    `its \`WHERE\`/\`IF\`, and/or, 1/2, ./${'tmp'}, a/${'tmp'}/b, @types/node`,
    `readFileSync(\`${p('', 'proc', '${pid}', 'stat')}\`) and ${p('', 'dev', 'null')}`,
    `join(os.tmpdir(), 'x')`,
  ];
  for (const line of inside) assert.deepEqual(outsidePaths(line), [], `false alarm: ${line}`);
});

/** Writes files (relative path -> text) under dir. */
function plant(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
}

test('a planted path is caught with its file and line, in a plain tree and in a git checkout', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'im-self-contained-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  plant(dir, {
    '.gitignore': 'node_modules/\ndist/\nout/\n',
    'README.md': '# x\n\nclean text, /graphql and ../docs\n',
    'src/a.ts': `// one\n// two\nconst rules = '${p('..', SHARED, 'design', 'delivery.md')}';\n`,
    'docs/b.md': `intro\nsee ${p('', 'home', 'me', 'notes.md')}\n`,
    'node_modules/m/index.js': `'${p('', 'tmp', 'x')}'\n`,
    'dist/src/a.js': `'${p('..', SHARED, 'x')}'\n`,
    'out/log.txt': `${p('', 'var', 'log', 'x')}\n`,
    'package-lock.json': `{"resolved": "file:${p('', '', '', 'root', 'x')}"}\n`,
  });
  const expected = ['docs/b.md:2', 'src/a.ts:3'];
  const walked = repoFiles(dir);
  assert.equal(walked.source, 'walk');
  assert.deepEqual(scanFiles(dir, walked.files).map((f) => `${f.file}:${f.line}`), expected);

  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
  } catch {
    t.diagnostic('git is not installed: the git listing is not exercised');
    return;
  }
  execFileSync('git', ['init', '-q'], { cwd: dir });
  execFileSync('git', ['add', '.gitignore', 'README.md', 'src', 'docs'], { cwd: dir });
  plant(dir, { 'untracked.md': `${p('', 'work', 'x')}\n` });
  const listed = repoFiles(dir);
  assert.equal(listed.source, 'git');
  assert.deepEqual(scanFiles(dir, listed.files).map((f) => `${f.file}:${f.line}`), expected);
});

/** The Rules section of src/delivery/README.md: rule number -> its paragraph. */
function rules(): Map<number, string> {
  const md = readFileSync(join(root, 'src', 'delivery', 'README.md'), 'utf8');
  const section = /^## Rules\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(md)?.[1];
  assert.ok(section, 'src/delivery/README.md has no "## Rules" section');
  const out = new Map<number, string>();
  for (const para of section.split(/\n\s*\n/)) {
    const m = /^\*\*D(\d+)\./.exec(para.trim());
    if (m) out.set(Number(m[1]), para);
  }
  return out;
}

test('the delivery rules D1..D20 are written in the repo, and every D-number cited in code and tests is one of them', () => {
  const defined = rules();
  assert.deepEqual([...defined.keys()], Array.from({ length: 20 }, (_, i) => i + 1), 'rules D1..D20, in order, each its own paragraph');
  const { files } = repoFiles(root);
  const missing: string[] = [];
  let citations = 0;
  for (const file of files.filter((f) => /\.(ts|js|md)$/.test(f) && f !== 'src/delivery/README.md')) {
    readFileSync(join(root, file), 'utf8').split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/\bD(\d{1,2})([a-z])?\b/g)) {
        citations++;
        const rule = defined.get(Number(m[1]));
        if (!rule) missing.push(`${file}:${i + 1}: ${m[0]}`);
        else if (m[2] && !rule.includes(`(${m[2]})`)) missing.push(`${file}:${i + 1}: ${m[0]} (no item (${m[2]}) in D${m[1]})`);
      }
    });
  }
  assert.ok(citations > 100, `only ${citations} citations found: is the pattern right?`);
  assert.deepEqual(missing, [], `cited rules that src/delivery/README.md does not define:\n  ${missing.join('\n  ')}`);
});
