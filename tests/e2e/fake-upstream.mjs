#!/usr/bin/env node
// A fake OpenAI-compatible upstream for the end-to-end router test. Zero dependencies.
//
//   node fake-upstream.mjs PORT RECORD_FILE
//
// Listens on 127.0.0.1:PORT (0 = any free port) and prints the chosen port on stdout,
// one line, once it is listening. Every request it receives is appended to RECORD_FILE
// as one JSON line {method, url, authorization, model, stream}; `authorization` is the
// raw Authorization header (null when absent). POST …/chat/completions gets a minimal
// valid chat completion, or an SSE stream of chunks ending in `data: [DONE]` when the
// body asks for "stream": true. Anything else gets a 404 JSON error.
// Stops on SIGTERM/SIGINT.
import http from 'node:http';
import fs from 'node:fs';

const [portArg = '0', recordFile] = process.argv.slice(2);
if (!recordFile) {
  process.stderr.write('usage: fake-upstream.mjs PORT RECORD_FILE\n');
  process.exit(2);
}

const REPLY = 'pong from fake upstream';

function record(entry) {
  fs.appendFileSync(recordFile, JSON.stringify(entry) + '\n');
}

function completion(model) {
  return {
    id: 'chatcmpl-fake-0001',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: REPLY },
      finish_reason: 'stop',
    }],
    usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
  };
}

function streamCompletion(res, model) {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const base = {
    id: 'chatcmpl-fake-0001',
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
  };
  const chunks = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { content: REPLY }, finish_reason: null }] },
    {
      ...base,
      choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    },
  ];
  for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
  res.end('data: [DONE]\n\n');
}

const server = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (d) => parts.push(d));
  req.on('end', () => {
    let body = null;
    try {
      body = JSON.parse(Buffer.concat(parts).toString('utf8') || 'null');
    } catch {
      body = null;
    }
    const model = (body && typeof body.model === 'string') ? body.model : 'fake-model';
    const stream = !!(body && body.stream === true);
    record({
      method: req.method,
      url: req.url,
      authorization: req.headers.authorization ?? null,
      model,
      stream,
    });
    const path = (req.url || '').split('?')[0];
    if (req.method === 'POST' && path.endsWith('/chat/completions')) {
      if (stream) {
        streamCompletion(res, model);
      } else {
        const out = JSON.stringify(completion(model));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      }
      return;
    }
    const out = JSON.stringify({ error: { message: `no route for ${req.method} ${path}`, type: 'not_found' } });
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  });
});

server.listen(Number(portArg) || 0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
