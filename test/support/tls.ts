/**
 * openssl arguments for a throw-away self-signed certificate for localhost and 127.0.0.1, valid two days:
 * what nginx needs to serve TLS in a test. The suites run it with their own command runner.
 */
export function selfSignedCertArgs(keyFile: string, certFile: string): string[] {
  return [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ];
}
