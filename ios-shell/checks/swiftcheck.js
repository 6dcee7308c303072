#!/usr/bin/env node
// What CI can check of the Swift shell without a Swift compiler, with
// tree-sitter's Swift grammar (versions pinned in package-lock.json):
//
//   parse   every file parses with no ERROR or MISSING node.
//   names   every name the shell uses from the generated bindings exists
//           there, read from both with the same parser: the bindings'
//           declarations (types, their members, enum cases, functions and
//           their argument labels) are indexed, and in the shell
//             - every type name is the shell's own, the bindings', or on
//               the platform list (platform-names.txt: Swift, Foundation,
//               SwiftUI, Core Location… which only a Mac can check);
//             - every free function called is the shell's, the bindings',
//               a value in scope, or on the platform list;
//             - `T.member` with T a bindings type names a member or case of T;
//             - `value.member`, where the value's type can be followed
//               (declared, or returned by a bindings or shell member) to a
//               bindings type, names a member of that type;
//             - a call of a bindings function, method, initialiser or enum
//               case uses argument labels it declares, in order, with none
//               that has no default left out.
//
// Usage: node swiftcheck.js --bindings guardian_ffi.swift --platform platform-names.txt FILE...
// Exit 0 when all pass; 1 with one line per problem (file:line: what).
//
// The grammar rejects `#if … #endif` inside a type body, which the generated
// bindings use: directive lines are blanked (kept as empty lines, so line
// numbers hold) before parsing. Both branches are then read, which for
// declarations only adds names. Nor does it know the empty tuple `()` as an
// expression: a closure `{ () }` is read as `{ Void() }`, the same value;
// nor `nonisolated(unsafe)`, read as `nonisolated`. Nothing else is changed.
'use strict';

const fs = require('fs');
const path = require('path');
const Parser = require('tree-sitter');
const Swift = require('tree-sitter-swift');

const parser = new Parser();
parser.setLanguage(Swift);

function blankDirectives(text) {
    return text
        .split('\n')
        .map((line) => (/^\s*#(if|elseif|else|endif)\b/.test(line) ? '' : line))
        .join('\n')
        // The grammar has no empty-tuple expression; the bindings' callback
        // glue returns one from a closure (`{ () }`). `Void()` is the same value.
        .replace(/\{\s*\(\)\s*\}/g, '{ Void() }')
        // Nor Swift 5.10's `nonisolated(unsafe)` (on the bindings' globals).
        .replace(/\bnonisolated\(unsafe\)/g, 'nonisolated');
}

function parseFile(file) {
    const text = blankDirectives(fs.readFileSync(file, 'utf8'));
    // The node binding's default buffer is 32 KiB; the bindings are larger.
    const tree = parser.parse(text, null, { bufferSize: Math.max(64 * 1024, text.length * 2) });
    return { file, tree };
}

function firstError(node) {
    if (node.type === 'ERROR' || node.isMissing) return node;
    if (!node.hasError) return null;
    for (const child of node.children) {
        const found = firstError(child);
        if (found) return found;
    }
    return node;
}

const named = (node) => node.namedChildren;
const kids = (node, type) => node.namedChildren.filter((c) => c.type === type);
const line = (node) => node.startPosition.row + 1;

// ---- types as text ----

/** A type node as {name, array, optional}; name null when not a plain named type. */
function typeRef(node) {
    if (!node) return null;
    switch (node.type) {
        case 'type_annotation':
            return typeRef(named(node).find((c) => c.type !== 'modifiers'));
        case 'optional_type':
        case 'implicitly_unwrapped_type': {
            const inner = typeRef(named(node)[0]);
            return inner && { ...inner, optional: true };
        }
        case 'array_type': {
            const inner = typeRef(named(node)[0]);
            return inner && { name: inner.name, array: true, optional: false };
        }
        case 'user_type': {
            const ids = kids(node, 'type_identifier');
            if (ids.length === 0) return null;
            // `Swift.String`, `GuardianFFI.Fix`: the last part names it.
            return { name: ids[ids.length - 1].text, array: false, optional: false };
        }
        default:
            return null;
    }
}

// ---- declarations ----

class Index {
    constructor() {
        this.types = new Map(); // name -> {members: Map, inherits: []}
        this.funcs = new Map(); // name -> [{params, ret}]
        this.declared = new Set(); // types declared (not only extended)
    }
    type(name) {
        if (!this.types.has(name)) this.types.set(name, { members: new Map(), inherits: [] });
        return this.types.get(name);
    }
    addMember(typeName, name, info) {
        const t = this.type(typeName);
        if (!t.members.has(name)) t.members.set(name, []);
        t.members.get(name).push(info);
    }
}

/** Parameters as {label, hasDefault}; label null for `_`. */
function params(node) {
    const out = [];
    let pending = null;
    for (const c of node.children) {
        if (c.type === 'parameter') {
            const ids = c.namedChildren.filter((k) => k.type === 'simple_identifier');
            const label = ids.length >= 2 ? ids[0].text : ids[0] ? ids[0].text : null;
            pending = { label: label === '_' ? null : label, hasDefault: false };
            out.push(pending);
        } else if (pending && c.type === '=') {
            pending.hasDefault = true;
        }
    }
    return out;
}

/** Enum case parameters: `case arrived(areaId: String, timeMs: Int64)`. */
function caseParams(node) {
    const out = [];
    let last = null;
    for (const c of node.children) {
        if (c.type === 'simple_identifier') {
            last = { label: c.text, hasDefault: false };
            out.push(last);
        } else if (c.type === 'user_type' || c.type === 'optional_type' || c.type === 'array_type') {
            if (!last) out.push({ label: null, hasDefault: false });
            last = null;
        } else if (c.type === '=' && out.length) {
            out[out.length - 1].hasDefault = true;
        }
    }
    return out;
}

function returnType(fn) {
    // The return type is the type node after `->`.
    let arrow = false;
    for (const c of fn.children) {
        if (c.type === '->') arrow = true;
        else if (arrow && c.isNamed) return typeRef(c);
    }
    return null;
}

/** An identifier's name: `open` and open are the same name. */
const bare = (text) => text.replace(/^`|`$/g, '');

function declName(decl) {
    const name = decl.childForFieldName('name');
    if (!name) return null;
    return name.type === 'user_type' ? typeRef(name).name : bare(name.text);
}

/** Indexes the declarations in `tree` into `index`; returns the shell's own names. */
function collect(tree, index, own) {
    function body(decl) {
        return decl.namedChildren.find((c) => /(class|enum_class|protocol)_body$/.test(c.type));
    }
    // Of the bindings, only what the shell could see: public or open
    // declarations, the members of public protocols, the cases of public
    // enums. Extensions of Foundation types there (Data, NSLock) add no
    // bindings type.
    function visible(decl, inherited) {
        if (own) return true;
        const mods = decl.namedChildren.find((c) => c.type === 'modifiers');
        const vis = mods ? mods.namedChildren.filter((c) => c.type === 'visibility_modifier').map((c) => c.text) : [];
        if (vis.some((v) => v.startsWith('public') || v.startsWith('open'))) return true;
        if (vis.length) return false;
        return inherited;
    }
    function visitType(decl, outer, inherited) {
        const name = declName(decl);
        if (!name) return;
        const kind = decl.childForFieldName('declaration_kind');
        const isExtension = kind && kind.text === 'extension';
        const pub = visible(decl, false);
        if (!isExtension && !pub) return;
        const t = index.type(name);
        if (!isExtension) index.declared.add(name);
        if (own) own.types.add(name);
        // Members of a public protocol or enum are public; of a public
        // extension too; elsewhere they say so themselves.
        const membersPublic = decl.type === 'protocol_declaration' || (isExtension && pub);
        for (const inh of kids(decl, 'inheritance_specifier')) {
            const r = typeRef(named(inh)[0]);
            if (r) t.inherits.push(r.name);
        }
        for (const tp of decl.descendantsOfType('type_parameter')) {
            for (const id of kids(tp, 'type_identifier')) if (own) own.types.add(id.text);
        }
        const b = body(decl);
        if (!b) return;
        for (const m of b.namedChildren) visitMember(name, m, membersPublic);
    }
    function visitMember(typeName, m, membersPublic) {
        if (m.type !== 'enum_entry' && !visible(m, membersPublic)) return;
        switch (m.type) {
            case 'property_declaration':
            case 'protocol_property_declaration': {
                const pats = m.namedChildren.filter((c) => c.type === 'pattern');
                const ann = m.namedChildren.find((c) => c.type === 'type_annotation');
                for (const p of pats) {
                    const id = p.childForFieldName('bound_identifier') || p.namedChildren.find((c) => c.type === 'simple_identifier');
                    if (id) index.addMember(typeName, id.text, { kind: 'prop', type: typeRef(ann), init: m.childForFieldName('value') });
                }
                break;
            }
            case 'function_declaration':
            case 'protocol_function_declaration': {
                const n = m.childForFieldName('name');
                if (n) index.addMember(typeName, bare(n.text), { kind: 'func', params: params(m), ret: returnType(m) });
                break;
            }
            case 'init_declaration':
                index.addMember(typeName, 'init', { kind: 'init', params: params(m), ret: { name: typeName } });
                break;
            case 'enum_entry': {
                let current = null;
                for (const c of m.children) {
                    if (c.type === 'simple_identifier') {
                        current = { kind: 'case', params: [], ret: { name: typeName } };
                        index.addMember(typeName, bare(c.text), current);
                    } else if (c.type === 'enum_type_parameters' && current) {
                        current.params = caseParams(c);
                    }
                }
                break;
            }
            case 'class_declaration':
            case 'protocol_declaration':
                visitType(m, typeName, membersPublic);
                break;
            default:
                break;
        }
    }
    for (const top of tree.rootNode.namedChildren) {
        if (top.type === 'class_declaration' || top.type === 'protocol_declaration') visitType(top, null, false);
        else if (top.type === 'typealias_declaration') {
            const n = declName(top);
            if (n && visible(top, false)) {
                index.type(n);
                index.declared.add(n);
                if (own) own.types.add(n);
            }
        } else if (top.type === 'function_declaration') {
            if (!visible(top, false)) continue;
            const n = top.childForFieldName('name');
            if (!n) continue;
            if (!index.funcs.has(n.text)) index.funcs.set(n.text, []);
            index.funcs.get(n.text).push({ params: params(top), ret: returnType(top) });
            if (own) own.funcs.add(n.text);
        } else if (top.type === 'property_declaration' && own) {
            for (const id of top.descendantsOfType('simple_identifier')) {
                if (id.parent && id.parent.type === 'pattern') own.values.add(id.text);
            }
        }
    }
}

// Members every Swift type of a kind has, which the bindings do not spell out.
const IMPLICIT = new Set(['self', 'init', 'hashValue', 'hash', 'localizedDescription', 'description', 'debugDescription', 'rawValue']);

const OPTIONAL = new Set(['none', 'some', 'map', 'flatMap']);

// ---- the check ----

function main(argv) {
    let bindingsFile = null;
    let platformFile = null;
    const files = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--bindings') bindingsFile = argv[++i];
        else if (argv[i] === '--platform') platformFile = argv[++i];
        else files.push(argv[i]);
    }
    const problems = [];
    const parsed = [];
    for (const f of [bindingsFile, ...files].filter(Boolean)) {
        const p = parseFile(f);
        const err = firstError(p.tree.rootNode);
        if (err) {
            const what = err.isMissing ? `missing ${err.type}` : `cannot parse ${JSON.stringify(err.text.slice(0, 40))}`;
            problems.push(`${f}:${line(err)}: parse: ${what}`);
        }
        parsed.push(p);
    }
    console.log(`parse: ${parsed.length} files, ${parsed.length - problems.length} parse cleanly`);
    if (!bindingsFile) return finish(problems, null);

    const [bindingsParsed, ...shellParsed] = parsed;
    const bindings = new Index();
    collect(bindingsParsed.tree, bindings, null);
    const platform = new Set(
        fs
            .readFileSync(platformFile, 'utf8')
            .split('\n')
            .map((l) => l.replace(/#.*/, '').trim())
            .filter(Boolean)
            .flatMap((l) => l.split(/\s+/)),
    );
    for (const n of platform) {
        if (bindings.declared.has(n) || bindings.funcs.has(n)) {
            problems.push(`${platformFile}: ${n} is a bindings name: it is checked against the bindings, not listed`);
        }
    }
    const shell = new Index();
    const own = { types: new Set(), funcs: new Set(), values: new Set() };
    for (const p of shellParsed) collect(p.tree, shell, own);

    const stats = { refs: 0, names: new Set(), unresolved: 0 };
    const ok = (what) => {
        stats.refs++;
        stats.names.add(what);
    };

    const isBindingType = (n) => bindings.declared.has(n) && !own.types.has(n);
    function member(typeName, name) {
        const found = [];
        for (const idx of [bindings, shell]) {
            const t = idx.types.get(typeName);
            if (t && t.members.has(name)) found.push(...t.members.get(name));
        }
        return found;
    }
    /** Members of a bindings type, including those of bindings protocols it adopts. */
    function bindingMember(typeName, name, seen = new Set()) {
        if (seen.has(typeName)) return [];
        seen.add(typeName);
        let found = member(typeName, name);
        if (found.length) return found;
        for (const idx of [bindings, shell]) {
            const t = idx.types.get(typeName);
            for (const inh of t ? t.inherits : []) {
                if (bindings.types.has(inh)) found = found.concat(bindingMember(inh, name, seen));
            }
        }
        return found;
    }

    for (const { file, tree } of shellParsed) {
        const report = (node, msg) => problems.push(`${file}:${line(node)}: ${msg}`);

        // Type names.
        for (const id of tree.rootNode.descendantsOfType('type_identifier')) {
            const n = id.text;
            if (own.types.has(n)) continue;
            if (bindings.declared.has(n)) {
                ok(`type ${n}`);
                continue;
            }
            if (platform.has(n)) continue;
            report(id, `type ${n} is not in the bindings, the shell or the platform list`);
        }

        // Scopes: what a simple name means at a node.
        function enclosingType(node) {
            for (let n = node.parent; n; n = n.parent) {
                if (n.type === 'class_declaration' || n.type === 'protocol_declaration') return declName(n);
            }
            return null;
        }
        function declaredIn(container, name, before) {
            // Declarations among `container`'s children (and the bindings of
            // if/guard conditions) that name `name`; returns {type, init, unwrap}.
            let found = null;
            const children = container.children;
            for (let i = 0; i < children.length; i++) {
                const c = children[i];
                if (before && c.startIndex > before.startIndex) break;
                if (c.type === 'guard_statement' && container.type !== 'guard_statement') {
                    // `guard let x = …` binds x for the statements after it.
                    const g = declaredIn(c, name, null);
                    if (g) found = g.shorthand ? { ...g, shorthand: container } : g;
                } else if (c.type === 'property_declaration') {
                    for (const p of kids(c, 'pattern')) {
                        const id = p.childForFieldName('bound_identifier');
                        if (id && id.text === name) {
                            found = { type: typeRef(c.namedChildren.find((k) => k.type === 'type_annotation')), init: c.childForFieldName('value') };
                        }
                    }
                } else if (c.type === 'parameter') {
                    const ids = kids(c, 'simple_identifier');
                    const internal = ids[ids.length - 1];
                    if (internal && internal.text === name) {
                        found = { type: typeRef(c.namedChildren.find((k) => k.type !== 'simple_identifier')) };
                    }
                } else if (c.type === 'lambda_parameter') {
                    const id = c.namedChildren.find((k) => k.type === 'simple_identifier');
                    if (id && id.text === name) found = { type: typeRef(c.namedChildren.find((k) => k.type !== 'simple_identifier')) };
                } else if (c.type === 'simple_identifier' && c.text === name && (container.type === 'if_statement' || container.type === 'guard_statement')) {
                    // `if let name = value`: the value is the next named node;
                    // `if let name {` unwraps the outer `name`.
                    const eq = children[i + 1] && children[i + 1].type === '=';
                    const next = children.slice(i + 1).find((k) => k.isNamed);
                    if (eq && next) found = { init: next, unwrap: true };
                    else found = { shorthand: container, unwrap: true };
                } else if (c.type === 'pattern' && (container.type === 'if_statement' || container.type === 'guard_statement' || container.type === 'for_statement')) {
                    const id = c.childForFieldName('bound_identifier') || c.namedChildren.find((k) => k.type === 'simple_identifier');
                    if (id && id.text === name) {
                        const next = children.slice(i + 1).find((k) => k.isNamed);
                        if (next) found = { init: next, unwrap: container.type !== 'for_statement', element: container.type === 'for_statement' };
                    }
                }
            }
            return found;
        }
        function lookup(node, name) {
            let prev = node;
            for (let n = node.parent; n; prev = n, n = n.parent) {
                if (n.type === 'class_body' || n.type === 'enum_class_body') {
                    const t = enclosingType(prev);
                    const m = t ? member(t, name) : [];
                    if (m.length && m[0].kind === 'prop') return { type: m[0].type, init: m[0].init };
                    continue;
                }
                if (n.type === 'lambda_literal') {
                    const ftype = n.childForFieldName('type');
                    const params = ftype ? ftype.descendantsOfType('lambda_parameter') : [];
                    for (const [i, p] of params.entries()) {
                        const id = p.namedChildren.find((k) => k.type === 'simple_identifier');
                        if (!id || id.text !== name) continue;
                        const declared = typeRef(p.namedChildren.find((k) => k.type !== 'simple_identifier'));
                        return declared ? { type: declared } : i === 0 ? { elementOf: n } : {};
                    }
                }
                const scopeLike = ['statements', 'function_declaration', 'init_declaration', 'if_statement', 'guard_statement', 'for_statement', 'source_file', 'computed_property', 'function_body'];
                if (!scopeLike.includes(n.type)) continue;
                const found = declaredIn(n, name, n.type === 'statements' || n.type === 'source_file' ? prev : null);
                if (found && found.shorthand) {
                    const outer = lookup(found.shorthand, name);
                    return outer && { ...outer, unwrap: true };
                }
                if (found) return found;
            }
            return null;
        }

        const depth = new Set();
        function typeOf(expr) {
            if (!expr || depth.has(expr.id)) return null;
            depth.add(expr.id);
            try {
                return typeOfInner(expr);
            } finally {
                depth.delete(expr.id);
            }
        }
        // `ForEach(xs) { x in }`, `xs.map { x in }`: x is an element of xs.
        const ELEMENTWISE = new Set(['map', 'compactMap', 'flatMap', 'filter', 'forEach', 'first', 'contains', 'sorted', 'removeAll', 'allSatisfy', 'min', 'max']);
        function elementOf(lambda) {
            let call = lambda.parent;
            while (call && call.type !== 'call_expression' && ['call_suffix', 'value_argument', 'value_arguments'].includes(call.type)) call = call.parent;
            if (!call || call.type !== 'call_expression') return null;
            const callee = named(call)[0];
            let seq = null;
            if (callee.type === 'simple_identifier' && (callee.text === 'ForEach' || callee.text === 'List')) {
                const first = call.descendantsOfType('value_argument')[0];
                seq = first && first.childForFieldName('value');
            } else if (callee.type === 'navigation_expression') {
                const name = callee.childForFieldName('suffix')?.childForFieldName('suffix');
                if (name && ELEMENTWISE.has(name.text)) seq = callee.childForFieldName('target');
            }
            const t = seq ? typeOf(seq) : null;
            return t && t.array ? { name: t.name } : null;
        }
        function resolved(decl) {
            if (!decl) return null;
            if (decl.elementOf) return elementOf(decl.elementOf);
            let t = decl.type || (decl.init ? typeOf(decl.init) : null);
            if (!t) return null;
            if (decl.element) t = t.array ? { name: t.name } : null;
            else if (decl.unwrap && t) t = { ...t, optional: false };
            return t;
        }
        function typeOfInner(expr) {
            switch (expr.type) {
                case 'simple_identifier': {
                    if (expr.text === 'self') {
                        const t = enclosingType(expr);
                        return t ? { name: t } : null;
                    }
                    const d = lookup(expr, expr.text);
                    if (d) return resolved(d);
                    if (bindings.declared.has(expr.text) || own.types.has(expr.text)) return { name: expr.text, meta: true };
                    return null;
                }
                case 'self_expression': {
                    const t = enclosingType(expr);
                    return t ? { name: t } : null;
                }
                case 'try_expression':
                    return typeOf(expr.childForFieldName('expr'));
                case 'await_expression':
                    return typeOf(expr.childForFieldName('expr'));
                case 'postfix_expression':
                    return typeOf(expr.childForFieldName('target'));
                case 'tuple_expression':
                case 'parenthesized_expression':
                    return named(expr).length === 1 ? typeOf(named(expr)[0]) : null;
                case 'navigation_expression': {
                    const target = typeOf(expr.childForFieldName('target'));
                    const suffix = expr.childForFieldName('suffix');
                    const name = suffix && suffix.childForFieldName('suffix');
                    if (!target || !name || target.array) return null;
                    const m = member(target.name, name.text);
                    if (!m.length) return null;
                    if (m[0].kind === 'prop') return resolved({ type: m[0].type, init: m[0].init });
                    if (m[0].kind === 'case') return { name: target.name };
                    return null;
                }
                case 'call_expression': {
                    const callee = named(expr)[0];
                    if (callee.type === 'simple_identifier') {
                        if (bindings.declared.has(callee.text) || own.types.has(callee.text)) return { name: callee.text };
                        const f = (bindings.funcs.get(callee.text) || shell.funcs.get(callee.text) || [])[0];
                        return f ? f.ret : null;
                    }
                    if (callee.type === 'navigation_expression') {
                        const target = typeOf(callee.childForFieldName('target'));
                        const name = callee.childForFieldName('suffix')?.childForFieldName('suffix');
                        if (!target || !name || target.array) return null;
                        const m = member(target.name, name.text);
                        return m.length && m[0].ret ? m[0].ret : null;
                    }
                    return null;
                }
                default:
                    return null;
            }
        }

        function labelsOf(call) {
            const suffix = kids(call, 'call_suffix')[0];
            const args = suffix ? suffix.descendantsOfType('value_argument').filter((a) => a.parent.parent.id === suffix.id) : [];
            const trailing = suffix ? kids(suffix, 'lambda_literal').length : 0;
            return {
                labels: args.map((a) => {
                    const l = a.childForFieldName('name');
                    return l ? l.text : null;
                }),
                trailing,
            };
        }
        function labelsFit(declared, used) {
            let i = 0;
            for (const label of used.labels) {
                while (i < declared.length && declared[i].label !== label) {
                    if (!declared[i].hasDefault) return false;
                    i++;
                }
                if (i === declared.length) return false;
                i++;
            }
            const rest = declared.slice(i);
            // Trailing closures fill the last parameters.
            return rest.filter((p) => !p.hasDefault).length <= used.trailing;
        }
        function checkLabels(node, what, candidates) {
            const call = node.parent && node.parent.type === 'call_expression' && named(node.parent)[0] === node ? node.parent : null;
            if (!call) return;
            const used = labelsOf(call);
            const fits = candidates.filter((c) => c.params).some((c) => labelsFit(c.params, used));
            if (!fits && candidates.some((c) => c.params)) {
                const want = candidates.filter((c) => c.params).map((c) => `(${c.params.map((p) => (p.label || '_') + ':').join('')})`).join(' or ');
                report(node, `${what}(${used.labels.map((l) => (l || '_') + ':').join('')}) does not match the bindings' ${what}${want}`);
            } else {
                ok(`labels ${what}`);
            }
        }

        // `T.member` and `value.member`.
        for (const nav of tree.rootNode.descendantsOfType('navigation_expression')) {
            const suffix = nav.childForFieldName('suffix');
            const name = suffix && suffix.childForFieldName('suffix');
            if (!name || name.type !== 'simple_identifier') continue;
            const targetNode = nav.childForFieldName('target');
            const target = typeOf(targetNode);
            if (!target || target.array || !isBindingType(target.name)) {
                if (!target) stats.unresolved++;
                continue;
            }
            if (IMPLICIT.has(name.text)) continue;
            // `allCases` is Swift's, but only where the bindings conform.
            if (name.text === 'allCases' && target.meta) {
                const t = bindings.types.get(target.name);
                if (t && t.inherits.includes('CaseIterable')) ok(`${target.name}.allCases`);
                else report(name, `${target.name}.allCases: ${target.name} is not CaseIterable in the generated bindings`);
                continue;
            }
            // `Urgency?.none` is Optional<Urgency>'s; `value.map` on an
            // optional value (not `value?.member`) is Optional's too.
            const chained = nav.children.some((c) => c.type === '?');
            if (target.meta && chained) continue;
            if (!target.meta && target.optional && !chained && OPTIONAL.has(name.text)) continue;
            const m = bindingMember(target.name, name.text);
            if (!m.length) {
                report(name, `${target.name}.${name.text} is not in the generated bindings`);
                continue;
            }
            ok(`${target.name}.${name.text}`);
            if (m.some((x) => x.kind === 'func' || x.kind === 'case' || x.kind === 'init')) {
                checkLabels(nav, `${target.name}.${name.text}`, m);
            }
        }

        // `catch StoreError.Corrupt(let m)`, `case PlanReason.fast`.
        for (const pat of tree.rootNode.descendantsOfType('pattern')) {
            const children = named(pat);
            if (children.length >= 2 && children[0].type === 'user_type' && children[1].type === 'simple_identifier') {
                const t = typeRef(children[0]);
                if (!t || !isBindingType(t.name)) continue;
                if (bindingMember(t.name, children[1].text).some((x) => x.kind === 'case')) ok(`${t.name}.${children[1].text}`);
                else report(children[1], `${t.name}.${children[1].text} is not a case in the generated bindings`);
            }
        }

        // `switch value { case .planChanged(let plan): … }` on a bindings enum.
        for (const sw of tree.rootNode.descendantsOfType('switch_statement')) {
            const subject = named(sw)[0];
            const t = typeOf(subject);
            if (!t || t.array || t.meta || !isBindingType(t.name)) continue;
            for (const pat of sw.descendantsOfType('switch_pattern')) {
                if (pat.parent.parent.id !== sw.id) continue;
                for (const p of kids(pat, 'pattern')) {
                    const first = named(p)[0];
                    if (!first || first.type !== 'simple_identifier' || !p.text.trim().startsWith('.')) continue;
                    if (t.optional && OPTIONAL.has(first.text)) continue;
                    if (bindingMember(t.name, first.text).some((x) => x.kind === 'case')) ok(`${t.name}.${first.text}`);
                    else report(first, `.${first.text} is not a case of ${t.name} in the generated bindings`);
                }
            }
        }

        // Free calls, and initialisers of bindings types.
        for (const call of tree.rootNode.descendantsOfType('call_expression')) {
            const callee = named(call)[0];
            if (callee.type !== 'simple_identifier') continue;
            const n = callee.text;
            if (isBindingType(n)) {
                const inits = bindingMember(n, 'init');
                if (inits.length) checkLabels(callee, n, inits);
                else ok(`init ${n}`);
                continue;
            }
            if (own.types.has(n) || own.funcs.has(n) || platform.has(n)) continue;
            if (lookup(callee, n)) continue; // a closure in scope
            if (bindings.funcs.has(n)) {
                ok(`func ${n}`);
                checkLabels(callee, n, bindings.funcs.get(n));
                continue;
            }
            const t = enclosingType(callee);
            if (t && member(t, n).length) continue; // a method of the enclosing type
            report(callee, `${n}(…) is not in the bindings, the shell or the platform list`);
        }
    }

    return finish(problems, stats);
}

function finish(problems, stats) {
    if (stats) {
        console.log(
            `names: ${stats.refs} uses of ${stats.names.size} distinct bindings names checked; ` +
                `${stats.unresolved} member uses on values whose type the checker cannot follow (not checked)`,
        );
    }
    if (stats && process.env.SWIFTCHECK_LIST) console.log([...stats.names].sort().join('\n'));
    for (const p of problems) console.log(p);
    if (problems.length) {
        console.log(`swiftcheck: ${problems.length} problem(s)`);
        return 1;
    }
    return 0;
}

process.exitCode = main(process.argv.slice(2));
