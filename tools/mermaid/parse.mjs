// Parse Mermaid diagrams with Mermaid's own parser (the one GitHub's renderer uses), no browser:
// jsdom provides the window that Mermaid's sanitizer (DOMPurify) needs at parse time.
// stdin: a JSON array of diagram texts. stdout: a JSON array, per diagram either
// {"ok": false, "error": "..."} or {"ok": true, "type", "vertices": [{id, text, classes}],
// "edges": [{start, end, type, stroke, text}], "classes": [names]} for flowcharts.
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text);
    const result = { ok: true, type: parsed.diagramType };
    if (parsed.diagramType.startsWith('flowchart')) {
      const db = (await mermaid.mermaidAPI.getDiagramFromText(text)).db;
      result.vertices = [...db.getVertices().values()].map(v => ({ id: v.id, text: v.text, classes: v.classes }));
      result.edges = db.getEdges().map(e => ({ start: e.start, end: e.end, type: e.type, stroke: e.stroke, text: e.text }));
      result.classes = [...db.getClasses().keys()];
    }
    results.push(result);
  } catch (error) {
    results.push({ ok: false, error: String(error.message || error).split('\n').slice(0, 3).join(' ') });
  }
}
process.stdout.write(JSON.stringify(results));
