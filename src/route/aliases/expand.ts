// Expanding an address through aliases, :include: files, .forward files and
// mailing-list files (parse.ts reads them), as pure functions over
// file-reading callbacks.
//
// EXPANSION is recursive. Each node records where its definition came from
// (provenance). Security rules:
//   - include, .forward and list files are read through the caller's
//     readFile, which refuses files others may write (util/trusted-file.ts);
//     such a refusal is temporary and aborts the whole expansion, so nothing
//     is delivered through the file and the message waits until it is fixed;
//   - programs and files are allowed only when they come straight from the
//     aliases file (configurable), never from include/forward/list files or
//     from the envelope;
//   - `:include:` is honoured only from the aliases file, .forward files and
//     include files, never from the envelope.
// Errors during NAME's expansion go to `owner-NAME` when that alias exists
// (the nearest one up the tree wins); .forward errors go to `real-USER`.
// A name that expands to itself (`bob: \bob, bob@elsewhere` or plain `bob`)
// delivers locally; any other repetition of a name up the tree is a loop and
// becomes an error node.

import { GatewayError } from '../../util/errors.js';
import { decompose } from '../../address/parse.js';
import { type AliasItem, type AliasTable, type ItemKind, parseAddressFile, unquote } from './parse.js';

export type ProvenanceKind = 'input' | 'aliases' | 'include' | 'forward' | 'list';

export interface Provenance {
  kind: ProvenanceKind;
  file?: string;
  line?: number;
}

export type NodeKind = 'address' | 'alias' | 'include' | 'forward' | 'list' | 'program' | 'file' | 'error';

export interface ExpansionNode {
  kind: NodeKind;
  /** What was written: the address, alias name, file path or command. */
  label: string;
  provenance: Provenance;
  /** Where delivery errors for this node go (owner-NAME, real-USER), or null = the sender. */
  errorsTo: string | null;
  children: ExpansionNode[];
  /** A delivery (address, program or file) rather than an expansion. */
  final: boolean;
  argv?: string[];
  noAlias?: boolean;
  error?: string;
}

export interface Delivery {
  kind: 'address' | 'program' | 'file';
  value: string;
  argv?: string[];
  errorsTo: string | null;
  provenance: Provenance;
  /** Already local and not to be aliased again. */
  noAlias: boolean;
}

export interface ExpansionError {
  label: string;
  error: string;
  errorsTo: string | null;
  provenance: Provenance;
}

export interface ExpandContext {
  aliases: AliasTable;
  /**
   * Reads a whole include, .forward or list file, refusing one it may not trust.
   * A rejection with code ENOENT means "no such file"; a temporary GatewayError
   * (an unsafe file) aborts the expansion; any other becomes an error node.
   */
  readFile(path: string, kind: 'include' | 'forward' | 'list'): Promise<string>;
  /** Path of USER's .forward, or null if USER has none / is not a user. */
  forwardPath?(user: string): string | null;
  /** Path of the list file for NAME (config/lists/NAME), or null. */
  listPath?(name: string): string | null;
  /** The local name an address means, or null if it is remote. Default: addresses with no route. */
  localName?(address: string): string | null;
  /** Where programs and files may come from. Default ['aliases']. */
  programsFrom?: readonly ProvenanceKind[];
  /** Maximum depth of the tree. Default 20. */
  maxDepth?: number;
}

export interface ExpansionResult {
  tree: ExpansionNode;
  deliveries: Delivery[];
  errors: ExpansionError[];
}

const INCLUDE_FROM: readonly ProvenanceKind[] = ['aliases', 'include', 'forward'];

function defaultLocalName(address: string): string | null {
  try {
    const steps = decompose(address);
    return steps.length === 1 ? steps[0]!.remainder : null;
  } catch {
    return null;
  }
}

interface Frame {
  /** "alias:x", "forward:x", "list:x", "include:/p" */
  key: string;
  name: string;
}

/** Expands one address through aliases, includes, .forward files and lists; an unsafe file throws (temporary). */
export async function expandAddress(address: string, ctx: ExpandContext): Promise<ExpansionResult> {
  const maxDepth = ctx.maxDepth ?? 20;
  const programsFrom = new Set(ctx.programsFrom ?? ['aliases']);
  const localName = ctx.localName ?? defaultLocalName;

  const errNode = (label: string, provenance: Provenance, errorsTo: string | null, error: string): ExpansionNode => ({
    kind: 'error',
    label,
    provenance,
    errorsTo,
    children: [],
    final: false,
    error,
  });

  /** Read (trusted files only) + parse; returns items, an error string, or null when missing and that is fine. */
  const loadFile = async (path: string, kind: 'include' | 'forward' | 'list', missingOk: boolean): Promise<AliasItem[] | string | null> => {
    let text: string;
    try {
      text = await ctx.readFile(path, kind);
    } catch (err) {
      if (err instanceof GatewayError && err.temporary) throw err;
      if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') return missingOk ? null : `${path}: no such file`;
      return `${path}: ${(err as Error)?.message ?? String(err)}`;
    }
    try {
      return parseAddressFile(text, path);
    } catch (err) {
      return (err as Error)?.message ?? String(err);
    }
  };

  const expandItems = async (
    items: AliasItem[],
    kind: ProvenanceKind,
    stack: Frame[],
    errorsTo: string | null,
  ): Promise<ExpansionNode[]> => {
    const out: ExpansionNode[] = [];
    for (const it of items) out.push(await expandItem(it, { kind, file: it.file, line: it.line }, stack, errorsTo));
    return out;
  };

  /** A node standing for `items` (an alias, an include, a .forward or a list file), its children their expansions. */
  const expandInto = async (
    kind: 'alias' | 'include' | 'forward' | 'list',
    label: string,
    prov: Provenance,
    errorsTo: string | null,
    items: AliasItem[],
    frame: Frame,
    stack: Frame[],
  ): Promise<ExpansionNode> => {
    const node: ExpansionNode = { kind, label, provenance: prov, errorsTo, children: [], final: false };
    node.children = await expandItems(items, kind === 'alias' ? 'aliases' : kind, [...stack, frame], errorsTo);
    return node;
  };

  const expandItem = async (
    it: Pick<AliasItem, 'kind' | 'value' | 'argv' | 'noAlias'>,
    prov: Provenance,
    stack: Frame[],
    errorsTo: string | null,
  ): Promise<ExpansionNode> => {
    if (stack.length > maxDepth) return errNode(it.value, prov, errorsTo, `expansion deeper than ${maxDepth} levels`);
    switch (it.kind) {
      case 'program':
      case 'file':
        if (!programsFrom.has(prov.kind))
          return errNode(
            it.value,
            prov,
            errorsTo,
            `${it.kind === 'program' ? 'program' : 'file'} delivery not allowed from ${prov.kind}${prov.file ? ` ${prov.file}` : ''}`,
          );
        return { kind: it.kind, label: it.value, provenance: prov, errorsTo, children: [], final: true, argv: it.argv };
      case 'include': {
        if (!INCLUDE_FROM.includes(prov.kind))
          return errNode(it.value, prov, errorsTo, `:include: not allowed from ${prov.kind}`);
        const key = `include:${it.value}`;
        if (stack.some((f) => f.key === key))
          return errNode(it.value, prov, errorsTo, `include loop: ${[...stack.map((f) => f.name), it.value].join(' -> ')}`);
        const items = await loadFile(it.value, 'include', false);
        if (typeof items === 'string' || items === null) return errNode(it.value, prov, errorsTo, items ?? 'missing');
        return expandInto('include', it.value, prov, errorsTo, items, { key, name: `:include:${it.value}` }, stack);
      }
      case 'address':
        return expandAddressItem(it.value, !!it.noAlias, prov, stack, errorsTo);
    }
  };

  const expandAddressItem = async (
    addr: string,
    noAlias: boolean,
    prov: Provenance,
    stack: Frame[],
    errorsTo: string | null,
  ): Promise<ExpansionNode> => {
    const final = (): ExpansionNode => ({
      kind: 'address',
      label: addr,
      provenance: prov,
      errorsTo,
      children: [],
      final: true,
      ...(noAlias ? { noAlias: true } : {}),
    });
    const name = localName(addr);
    if (name === null) {
      if (prov.kind === 'input') {
        try {
          decompose(addr);
        } catch (err) {
          return errNode(addr, prov, errorsTo, (err as Error).message);
        }
      }
      return final();
    }
    if (noAlias) return final();
    const lname = name.toLowerCase();
    const parent = stack[stack.length - 1];
    // Self reference: `bob: bob, ...` delivers to bob's mailbox.
    if (parent && parent.name.toLowerCase() === lname && !parent.key.startsWith('include:')) {
      noAlias = true;
      return final();
    }
    const loopCheck = (key: string): ExpansionNode | null =>
      stack.some((f) => f.key === key)
        ? errNode(addr, prov, errorsTo, `alias loop: ${[...stack.map((f) => f.name), name].join(' -> ')}`)
        : null;

    // Errors go to owner-NAME when that alias exists (aliases and lists), else where they went.
    const ownerOr = (): string | null => ctx.aliases.get(`owner-${lname}`)?.name ?? errorsTo;

    const entry = ctx.aliases.get(lname);
    if (entry) {
      const key = `alias:${lname}`;
      return loopCheck(key) ?? expandInto('alias', name, prov, ownerOr(), entry.items, { key, name }, stack);
    }
    // Then NAME's .forward, then its list file: the first that exists is expanded.
    const files = [
      { kind: 'forward', path: () => ctx.forwardPath?.(name) ?? null, errorsTo: () => `real-${name}` },
      { kind: 'list', path: () => ctx.listPath?.(name) ?? null, errorsTo: ownerOr },
    ] as const;
    for (const f of files) {
      const file = f.path();
      if (!file) continue;
      const key = `${f.kind}:${lname}`;
      const loop = loopCheck(key);
      if (loop) return loop;
      const items = await loadFile(file, f.kind, true);
      if (typeof items === 'string') return errNode(addr, prov, errorsTo, items);
      if (items !== null) return expandInto(f.kind, name, prov, f.errorsTo(), items, { key, name }, stack);
    }
    return final();
  };

  // Classify the envelope address the way a file entry would be, so that
  // `|cmd`, `/file` and `:include:` from outside are refused, not delivered.
  const top = address.trim();
  const unq = /^"(?:[^"\\]|\\.)*"$/.test(top) ? unquote(top) : top;
  const topKind: ItemKind =
    unq.startsWith('|') ? 'program' : unq.startsWith('/') ? 'file' : /^:include:/i.test(unq) ? 'include' : 'address';
  const tree = await expandItem(
    topKind === 'address' ? { kind: 'address', value: top } : { kind: topKind, value: unq },
    { kind: 'input' },
    [],
    null,
  );

  const deliveries: Delivery[] = [];
  const errors: ExpansionError[] = [];
  const seen = new Set<string>();
  const walk = (n: ExpansionNode): void => {
    if (n.kind === 'error') {
      errors.push({ label: n.label, error: n.error ?? 'error', errorsTo: n.errorsTo, provenance: n.provenance });
      return;
    }
    if (n.final) {
      const kind = n.kind as Delivery['kind'];
      const id = `${kind}\0${kind === 'address' ? n.label.toLowerCase() : n.label}`;
      if (!seen.has(id)) {
        seen.add(id);
        deliveries.push({
          kind,
          value: n.label,
          ...(n.argv ? { argv: n.argv } : {}),
          errorsTo: n.errorsTo,
          provenance: n.provenance,
          noAlias: !!n.noAlias,
        });
      }
      return;
    }
    for (const c of n.children) walk(c);
  };
  walk(tree);
  return { tree, deliveries, errors };
}

/** The tree as indented text, for `uugate route`. */
export function formatExpansionTree(node: ExpansionNode, indent = ''): string {
  const where = node.provenance.file ? ` [${node.provenance.file}:${node.provenance.line}]` : '';
  const errs = node.errorsTo ? ` (errors to ${node.errorsTo})` : '';
  let head: string;
  switch (node.kind) {
    case 'error':
      head = `${node.label}: ERROR ${node.error}`;
      break;
    case 'program':
      head = `program ${JSON.stringify(node.argv ?? [node.label])}`;
      break;
    case 'file':
      head = `file ${node.label}`;
      break;
    case 'include':
      head = `:include:${node.label}`;
      break;
    case 'address':
      head = node.label;
      break;
    default:
      head = `${node.label} (${node.kind})`;
  }
  let out = `${indent}${head}${errs}${where}\n`;
  for (const c of node.children) out += formatExpansionTree(c, `${indent}  `);
  return out;
}
