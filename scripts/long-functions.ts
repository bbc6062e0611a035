/**
 * `npm run check:functions`: every function, method, constructor, accessor and arrow function in
 * src/ and web/ whose body spans more than 80 lines, printed as `file:line name length`; exits 1
 * when there is one. The files come from tsconfig.json's program and are parsed by the
 * TypeScript compiler itself (TypeScript 7's API, which runs the bundled tsgo), so strings,
 * templates, regexes and comments can never be mistaken for braces.
 *
 * A body's length counts its lines from the opening brace (or an arrow's expression) to its end;
 * a nested function counts inside its parent's body as well, so splitting only the inner one
 * does not shorten the outer one.
 */
import { resolve, relative, sep } from 'node:path';
import { API } from 'typescript/unstable/sync';
import { SyntaxKind, type Node, type SourceFile } from 'typescript/unstable/ast';

const MAX_LINES = 80;
const ROOT = resolve(import.meta.dirname, '..');
const FOLDERS = ['src', 'web'].map((f) => resolve(ROOT, f) + sep);

interface LongFunction {
  file: string;
  line: number;
  name: string;
  length: number;
}

/** The node kinds that have a body of their own (a function in any syntax). */
const FUNCTION_KINDS = new Set<SyntaxKind>([
  SyntaxKind.FunctionDeclaration,
  SyntaxKind.FunctionExpression,
  SyntaxKind.ArrowFunction,
  SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor,
  SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor,
]);

/** The kinds whose `name` says what a function nested in them is called (and what it belongs to). */
const NAMED_KINDS = new Set<SyntaxKind>([
  ...FUNCTION_KINDS,
  SyntaxKind.ClassDeclaration,
  SyntaxKind.ClassExpression,
  SyntaxKind.VariableDeclaration,
  SyntaxKind.PropertyAssignment,
  SyntaxKind.PropertyDeclaration,
]);

type Named = Node & { name?: Node; body?: Node };

function nameOf(node: Named, sf: SourceFile): string | null {
  if (node.kind === SyntaxKind.Constructor) return 'constructor';
  return node.name ? node.name.getText(sf) : null;
}

/**
 * A function's name qualified by what encloses it (`GanTrainer.create`, `main.build`); an
 * anonymous callback is named by the call it is handed to (`addEventListener callback`).
 */
function qualifiedName(fn: Named, sf: SourceFile): string {
  const parts: string[] = [];
  let own = nameOf(fn, sf);
  if (own === null && fn.parent.kind === SyntaxKind.CallExpression) {
    const callee = (fn.parent as Node & { expression: Node }).expression.getText(sf);
    own = `${callee.split('.').pop()} callback`;
  }
  parts.push(own ?? '<anonymous>');
  for (let n: Node = fn.parent; n.kind !== SyntaxKind.SourceFile; n = n.parent) {
    if (!NAMED_KINDS.has(n.kind)) continue;
    const name = nameOf(n as Named, sf);
    // A function stored in a variable or property is already named by it.
    if (name !== null && !(FUNCTION_KINDS.has(n.kind) && n === fn)) parts.unshift(name);
  }
  // `const f = () => {...}`: the variable's name and the arrow's own are the same thing.
  return parts.filter((p, i) => i === 0 || p !== parts[i - 1]).join('.');
}

function longFunctions(sf: SourceFile): LongFunction[] {
  const found: LongFunction[] = [];
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const visit = (node: Node): undefined => {
    const body = (node as Named).body;
    if (FUNCTION_KINDS.has(node.kind) && body) {
      const length = lineOf(body.end) - lineOf(body.getStart(sf)) + 1;
      if (length > MAX_LINES) {
        found.push({ file: relative(ROOT, sf.fileName), line: lineOf(node.getStart(sf)), name: qualifiedName(node, sf), length });
      }
    }
    node.forEachChild(visit);
    return undefined;
  };
  sf.forEachChild(visit);
  return found;
}

function main(): number {
  const api = new API({ cwd: ROOT });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [resolve(ROOT, 'tsconfig.json')] });
    const program = snapshot.getProjects()[0]!.program;
    const files = program.getSourceFileNames().filter((f) => FOLDERS.some((dir) => resolve(f).startsWith(dir)));
    if (files.length === 0) throw new Error('no file of src/ or web/ is in the program of tsconfig.json');
    const found = files.sort().flatMap((f) => longFunctions(program.getSourceFile(f)!));
    for (const f of found) console.log(`${f.file}:${f.line} ${f.name} ${f.length}`);
    if (found.length) console.error(`${found.length} function${found.length > 1 ? 's' : ''} over ${MAX_LINES} lines: split them.`);
    return found.length ? 1 : 0;
  } finally {
    api.close();
  }
}

process.exitCode = main();
