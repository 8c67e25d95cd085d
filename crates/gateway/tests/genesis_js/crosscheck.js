#!/usr/bin/env node
// Cross-check helper for catalyst-gateway's tests (tests/genesis_js.rs): drives the official
// genesis.js SDK (3.3.9) offline, or against the fake Genesis server on 127.0.0.1.
//
// Environment: GENESIS_JS_DIR = a directory where install.sh ran (node_modules/genesis.js).
// Input: one JSON command on stdin. Output: one JSON answer on stdout.
//
//   {"mode": "build", "requests": [{"type": "sdd_sale", "params": {...}}, ...]}
//     → [{"type", "xml", "path", "valid", "errors"}]   (amounts in params: major units)
//   {"mode": "send", "base_url", "username", "password", "token", "type", "params"}
//     → {"ok": true, "response": {...}} | {"ok": false, "error": {...}}
//   {"mode": "notification", "password", "params": {...}}
//     → {"valid": bool, "echo": "<?xml ...>"}
'use strict';

const path = require('path');

const dir = process.env.GENESIS_JS_DIR;
if (!dir) {
  console.error('GENESIS_JS_DIR is not set');
  process.exit(2);
}
// genesis.js requires the `config` package; give it an empty configuration directory.
process.env.NODE_CONFIG_DIR = process.env.NODE_CONFIG_DIR || path.join(__dirname, 'config');
process.env.SUPPRESS_NO_CONFIG_WARNING = 'y';
const genesis = require(require.resolve('genesis.js', { paths: [dir] }));

function configuration(cmd) {
  return {
    customer: {
      username: cmd.username || 'user',
      password: cmd.password || 'pass',
      token: cmd.token || 'tok123',
      force_smart_routing: false,
    },
    gateway: { protocol: 'http', hostname: 'emerchantpay.net', timeout: '10000', testing: true },
  };
}

function build(cmd) {
  const trx = new genesis.transaction(configuration(cmd));
  return cmd.requests.map(({ type, params }) => {
    const validation = trx[type](JSON.parse(JSON.stringify(params)));
    const valid = validation.isValid();
    const errors = valid ? [] : validation.getErrors();
    // A fresh request object: isValid() and getArguments() both mutate the params.
    const req = trx[type](JSON.parse(JSON.stringify(params)));
    const args = req.getArguments();
    return {
      type,
      xml: req.builderContext.getDocument(args.trx),
      path: args.url.token ? `/${args.url.path}/${args.url.token}` : `/${args.url.path}`,
      valid,
      errors,
    };
  });
}

async function send(cmd) {
  const trx = new genesis.transaction(configuration(cmd));
  const req = trx[cmd.type](cmd.params);
  // GENESIS.md §8: the URL template has no port; point the request at the fake.
  req.formatUrl = (u) => `${cmd.base_url}/${u.path}${u.token ? '/' + u.token : ''}`;
  try {
    return { ok: true, response: await req.send() };
  } catch (error) {
    return { ok: false, error };
  }
}

function notification(cmd) {
  const n = new genesis.notification(configuration(cmd));
  return { valid: n.verifySignature(cmd.params), echo: n.echoConfirmation(cmd.params) };
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const cmd = JSON.parse(input);
  let answer;
  switch (cmd.mode) {
    case 'build': answer = build(cmd); break;
    case 'send': answer = await send(cmd); break;
    case 'notification': answer = notification(cmd); break;
    default: throw new Error(`unknown mode ${cmd.mode}`);
  }
  process.stdout.write(JSON.stringify(answer));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
