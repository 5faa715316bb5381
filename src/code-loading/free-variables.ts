import { createRequire } from "node:module";

type Acorn = typeof import("acorn");
let acorn: Acorn | undefined;
/** acorn is needed only for definitions in a driver's entry script: load it on first use (workers never do). */
function parser(): Acorn {
  acorn ??= createRequire(import.meta.url)("acorn") as Acorn;
  return acorn;
}

/**
 * Names a function's source uses but does not declare: the variables it would
 * need from its enclosing module. Scope-insensitive on purpose: a name declared
 * anywhere inside the function counts as declared, which can only miss a capture,
 * never report a false one.
 */
export function freeVariables(source: string): string[] {
  const ast = parser().parse(`(${source})`, {
    ecmaVersion: "latest",
    sourceType: "module",
  }) as unknown as AnyNode;
  const declared = new Set<string>();
  const used = new Set<string>();
  visit(ast, undefined, "", declared, used);
  return [...used].filter((n) => !declared.has(n));
}

type AnyNode = import("acorn").Node & Record<string, unknown>;

function isNode(v: unknown): v is AnyNode {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
}

function declarePattern(p: unknown, declared: Set<string>): void {
  if (!isNode(p)) return;
  switch (p.type) {
    case "Identifier":
      declared.add(p.name as string);
      break;
    case "ObjectPattern":
      for (const prop of p.properties as AnyNode[])
        declarePattern(prop.type === "RestElement" ? prop : prop.value, declared);
      break;
    case "ArrayPattern":
      for (const el of p.elements as unknown[]) declarePattern(el, declared);
      break;
    case "RestElement":
      declarePattern(p.argument, declared);
      break;
    case "AssignmentPattern":
      declarePattern(p.left, declared);
      break;
  }
}

function visit(
  node: AnyNode,
  parent: AnyNode | undefined,
  key: string,
  declared: Set<string>,
  used: Set<string>,
): void {
  switch (node.type) {
    case "VariableDeclarator":
      declarePattern(node.id, declared);
      break;
    case "FunctionDeclaration":
    case "FunctionExpression":
    case "ArrowFunctionExpression":
      if (isNode(node.id)) declared.add(node.id.name as string);
      for (const p of node.params as unknown[]) declarePattern(p, declared);
      break;
    case "ClassDeclaration":
    case "ClassExpression":
      if (isNode(node.id)) declared.add(node.id.name as string);
      break;
    case "CatchClause":
      declarePattern(node.param, declared);
      break;
    case "Identifier":
      if (isReference(parent, key)) used.add(node.name as string);
      return;
  }
  for (const k of Object.keys(node)) {
    if (k === "type" || k === "start" || k === "end") continue;
    const child = node[k];
    if (Array.isArray(child)) {
      for (const c of child) if (isNode(c)) visit(c, node, k, declared, used);
    } else if (isNode(child)) {
      visit(child, node, k, declared, used);
    }
  }
}

function isReference(parent: AnyNode | undefined, key: string): boolean {
  if (!parent) return true;
  switch (parent.type) {
    case "MemberExpression":
      return key !== "property" || parent.computed === true;
    case "Property":
    case "PropertyDefinition":
    case "MethodDefinition":
      return key !== "key" || parent.computed === true;
    case "LabeledStatement":
    case "BreakStatement":
    case "ContinueStatement":
      return key !== "label";
    case "MetaProperty":
      return false;
    default:
      return true;
  }
}
