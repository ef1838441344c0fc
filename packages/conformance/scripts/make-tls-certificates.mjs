// Makes the TLS suite's certificates with the openssl CLI into <dir>: a CA,
// leaves it signed (good, expired, a client one) and a self-signed leaf.
// The suite runs it itself where there is an `openssl` command; where there
// is none (Windows, Wine), make them beforehand on a machine that has one and
// point EVLOOP_TLS_TEST_CERTS at the folder (scripts/windows/run.sh does).
// The leaves are valid for 30 days; the expired one has explicit past dates.
//   node make-tls-certificates.mjs <dir>
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) throw new TypeError('usage: make-tls-certificates.mjs <dir>');
fs.mkdirSync(dir, { recursive: true });
const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
fs.writeFileSync(path.join(dir, 'leaf.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n');
run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650', '-subj', '/CN=evloop test CA');
// A good leaf for localhost and 127.0.0.1, signed by the CA.
run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '30', '-extfile', 'leaf.ext');
// A client certificate, for servers that ask for one.
run('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=evloop client');
run('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '30', '-extfile', 'leaf.ext');
// An expired leaf: `openssl ca` takes explicit validity dates (OpenSSL 3.0's x509 does not).
fs.writeFileSync(
  path.join(dir, 'ca.cnf'),
  [
    '[ ca ]',
    'default_ca = test_ca',
    '[ test_ca ]',
    'database = index.txt',
    'new_certs_dir = .',
    'certificate = ca.pem',
    'private_key = ca.key',
    'serial = serial',
    'default_md = sha256',
    'policy = policy_any',
    '[ policy_any ]',
    'commonName = supplied',
    '',
  ].join('\n'),
);
fs.writeFileSync(path.join(dir, 'index.txt'), '');
fs.writeFileSync(path.join(dir, 'serial'), '1000\n');
run('req', ...ec, '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=localhost');
run('ca', '-batch', '-config', 'ca.cnf', '-in', 'expired.csr', '-out', 'expired.pem', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extfile', 'leaf.ext', '-notext');
// Self-signed, with the right names.
run('req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.pem', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
