// Alert rules checked as Prometheus would read them, without a Prometheus: the PromQL analyzer of
// Prometheus's own query editor (@prometheus-io/codemirror-promql: syntax, function names,
// argument types), and which labels an alert's series keep, so that an annotation never names a
// label its expression aggregated away (it would render empty).
import { createRequire } from 'node:module';
import type { ensureSyntaxTree as EnsureSyntaxTree } from '@codemirror/language';
import type { EditorState as EditorStateType, Extension } from '@codemirror/state';
import type { SyntaxNode } from '@lezer/common';

// Its ESM build imports without file extensions, which Node does not resolve; the CommonJS build
// then needs the CommonJS builds of the editor packages too (their facets must be the same objects).
const require = createRequire(import.meta.url);
const { EditorState } = require('@codemirror/state') as { EditorState: typeof EditorStateType };
const { ensureSyntaxTree } = require('@codemirror/language') as { ensureSyntaxTree: typeof EnsureSyntaxTree };
const { PromQLExtension } = require('@prometheus-io/codemirror-promql') as { PromQLExtension: new () => { asExtension(): Extension } };
const { Parser } = require('@prometheus-io/codemirror-promql/dist/cjs/parser') as {
  Parser: new (state: EditorStateType) => { analyze(): void; getDiagnostics(): { message: string; from: number; to: number }[] };
};

const promql = new PromQLExtension().asExtension();

function analyzed(expr: string) {
  const state = EditorState.create({ doc: expr, extensions: promql });
  const tree = ensureSyntaxTree(state, expr.length, 5_000);
  if (!tree) throw new Error(`PromQL not parsed in time: ${expr}`);
  return { state, tree };
}

/** What Prometheus's query editor would underline in the expression, with the text it is about. */
export function promqlProblems(expr: string): string[] {
  const { state, tree } = analyzed(expr);
  const parser = new Parser(state);
  parser.analyze();
  const problems = parser.getDiagnostics().map((d) => `${d.message} (at "${expr.slice(d.from, d.to)}")`);
  // The editor leaves out an error at the very end (someone is still typing); a rule is finished.
  tree.iterate({ enter: (node) => void (node.type.isError && node.to === expr.length && problems.push(`incomplete expression (at offset ${node.from})`)) });
  return problems;
}

/** The labels the expression's series carry: a set, or 'any' where the selector's own labels pass through. */
export function labelsKept(expr: string): Set<string> | 'any' {
  const root = analyzed(expr).tree.topNode.firstChild;
  if (!root) throw new Error(`empty PromQL: ${expr}`);
  return labelsOf(root, expr);
}

const text = (node: SyntaxNode, expr: string) => expr.slice(node.from, node.to);
const isNumber = (node: SyntaxNode) => node.name === 'NumberDurationLiteral' || node.name === 'NumberLiteral';

function labelsOf(node: SyntaxNode, expr: string): Set<string> | 'any' {
  switch (node.name) {
    case 'ParenExpr':
      return labelsOf(node.firstChild!.nextSibling ?? node.firstChild!, expr);
    case 'BinaryExpr': {
      // A comparison with a number filters; the vector side's labels are kept.
      const [left, right] = [node.firstChild!, node.lastChild!];
      return isNumber(right) ? labelsOf(left, expr) : isNumber(left) ? labelsOf(right, expr) : 'any';
    }
    case 'AggregateExpr': {
      const modifier = node.getChild('AggregateModifier');
      if (!modifier) return new Set();
      if (modifier.getChild('Without')) return 'any';
      return new Set(modifier.getChild('GroupingLabels')?.getChildren('LabelName').map((label) => text(label, expr)) ?? []);
    }
    case 'FunctionCall': {
      const name = text(node.getChild('FunctionIdentifier')!, expr);
      const body = node.getChild('FunctionCallBody');
      // The series argument (histogram_quantile's comes after the quantile).
      const inner = (body ? childrenOf(body) : []).filter((arg) => !isNumber(arg) && arg.name !== 'StringLiteral').at(-1);
      if (!inner) return new Set();
      const kept = labelsOf(inner, expr);
      if (name === 'histogram_quantile' && kept !== 'any') kept.delete('le');
      return kept;
    }
    default:
      return 'any';
  }
}

function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const children: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) children.push(child);
  return children;
}

/** The labels an annotation's template reads (`$labels.name`). */
export const templateLabels = (template: string): string[] => [...template.matchAll(/\$labels\.(\w+)/g)].map((match) => match[1]!);

/** A duration as Prometheus reads a rule's `for`. */
export const isPrometheusDuration = (value: string): boolean => /^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/.test(value) && value !== '';
