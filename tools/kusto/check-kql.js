#!/usr/bin/env node
// Checks KQL offline with Microsoft's own Kusto language service (@kusto/language-service-next:
// the Kusto.Language parser and binder), against the table schemas kept in kql/schemas.
//
//   node tools/kusto/check-kql.js <queries.json>
//
// queries.json: [{ "Name": "...", "Text": "..." }, ...]. Writes one JSON array to stdout, one
// entry per query: its diagnostics (severity, code, message, position), the columns of its
// result (name and type) and the values of its string literals (unescaped, as Kusto reads
// them). Exits 2 when the language service is not installed (./build.ps1 Bootstrap installs it).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const serviceDir = process.env.MAF_KUSTO_LANGUAGE_SERVICE ||
    path.join(root, '.tools', 'kusto', 'node_modules', '@kusto', 'language-service-next');
if (!fs.existsSync(path.join(serviceDir, 'Kusto.Language.Bridge.js'))) {
    console.error(`The Kusto language service is not installed (looked in ${serviceDir}): run ./build.ps1 Bootstrap.`);
    process.exit(2);
}
require(path.join(serviceDir, 'bridge.js'));
require(path.join(serviceDir, 'Kusto.Language.Bridge.js'));
/* global Kusto, Bridge */
const Symbols = Kusto.Language.Symbols;

function loadTables() {
    const dir = path.join(root, 'kql', 'schemas');
    return fs.readdirSync(dir).filter(f => f.endsWith('.json')).sort().map(f => {
        const schema = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
        const columns = schema.Columns.map(c => `['${c.Name}']:${c.Type}`).join(', ');
        return Symbols.TableSymbol.From(`(${columns})`).WithName(schema.Table);
    });
}

function literals(code) {
    const values = [];
    code.Syntax.WalkElements(element => {
        if (element.IsLiteral && element.LiteralValueInfo && element.Kind === Kusto.Language.Syntax.SyntaxKind.StringLiteralExpression) {
            values.push(element.LiteralValueInfo.ValueText);
        }
    });
    return values;
}

const input = process.argv[2];
if (!input) {
    console.error('usage: check-kql.js <queries.json>');
    process.exit(64);
}
const queries = JSON.parse(fs.readFileSync(input, 'utf8'));
const globals = Kusto.Language.GlobalState.Default.WithDatabase(new Symbols.DatabaseSymbol.ctor('workspace', loadTables()));
const results = queries.map(query => {
    const code = Kusto.Language.KustoCode.ParseAndAnalyze(query.Text, globals);
    const diagnostics = Bridge.toArray(code.GetDiagnostics()).map(d => ({
        Severity: d.Severity,
        Code: d.Code,
        Message: d.Message,
        Start: d.Start,
        Length: d.Length,
        Near: query.Text.substr(Math.max(0, d.Start - 40), 80),
    }));
    const result = code.ResultType;
    const columns = result && result.Columns ? Bridge.toArray(result.Columns).map(c => ({ Name: c.Name, Type: c.Type.Name })) : [];
    return { Name: query.Name, Diagnostics: diagnostics, Columns: columns, StringLiterals: literals(code) };
});
process.stdout.write(JSON.stringify(results, null, 1));
