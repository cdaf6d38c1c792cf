/**
 * src/ must run on XS: ECMAScript built-ins only. Two checks: a scan for host-only names (with
 * comments and strings stripped), and tsc over src/ with lib es2022 and no @types, where any
 * host global is a type error.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

const FORBIDDEN = [
  'Buffer', 'process', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval',
  'console', 'TextEncoder', 'TextDecoder', 'queueMicrotask', 'structuredClone', 'performance',
  'fetch', 'window', 'document', 'global', 'require', 'module', '__dirname', '__filename', 'URL',
  'atob', 'btoa', 'crypto', 'trace',
];

/** Blank out comments, string and template literal contents, keeping line numbers. */
export function stripNonCode(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, (m) =>
    m.startsWith('/') ? m.replace(/[^\n]/g, ' ') : m[0] + m.slice(1, -1).replace(/[^\n]/g, ' ') + m[m.length - 1],
  );
}

export function violations(file: string, src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\b[^;]*?from\s*['"]([^'"]+)['"]/gm)) {
    const spec = m[1] as string;
    if (!spec.startsWith('.')) out.push(`${file}: imports "${spec}" (only relative imports inside src/)`);
  }
  const code = stripNonCode(src);
  const lines = code.split('\n');
  lines.forEach((line, i) => {
    for (const name of FORBIDDEN) {
      // a bare identifier use, not a property (x.name) or an object key (name:)
      const re = new RegExp(`(^|[^.\\w$])${name}\\b(?!\\s*:)`);
      if (re.test(line)) out.push(`${file}:${i + 1}: uses ${name}`);
    }
  });
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('the scanner catches host-only names and imports', () => {
  const bad = "import { readFile } from 'node:fs';\nconst b = Buffer.from('x'); setTimeout(() => console.log(process.env), 1);";
  const v = violations('bad.ts', bad);
  expect(v.join('\n')).toMatch(/imports "node:fs"/);
  for (const n of ['Buffer', 'setTimeout', 'console', 'process']) expect(v.join('\n')).toMatch(new RegExp(`uses ${n}`));
  // mentions in comments and strings, properties and keys are fine
  expect(violations('ok.ts', "// console.log\nconst s = 'process'; o.console = 1; const k = { process: 1 };")).toEqual([]);
});

test('src/ uses ECMAScript built-ins only', () => {
  const files = tsFiles(join(root, 'src'));
  expect(files.length).toBeGreaterThan(10);
  const v = files.flatMap((f) => violations(relative(root, f), readFileSync(f, 'utf8')));
  expect(v).toEqual([]);
});

test('src/ type-checks with lib es2022 and no host types', () => {
  // throws (with tsc's diagnostics) if any host global or module is used
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'src/tsconfig.json')], {
    encoding: 'utf8',
  });
});
