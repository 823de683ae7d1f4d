/** @type {import('next').NextConfig} */
const nextConfig = {
  // The Dockerfile builds the self-contained server; `npm start` runs the regular one.
  output: process.env.NEXT_OUTPUT === 'standalone' ? 'standalone' : undefined,
  // PGlite and the image codecs ship WASM files that must be loaded from node_modules at run time.
  serverExternalPackages: ['@electric-sql/pglite', 'postgres', '@cornerstonejs/codec-openjpeg', '@cornerstonejs/codec-charls', '@cornerstonejs/codec-libjpeg-turbo-8bit'],
  // `next dev` on 127.0.0.1 rejects its own HMR/asset requests otherwise.
  allowedDevOrigins: ['127.0.0.1', 'localhost'],
  poweredByHeader: false,
  async rewrites() {
    return [
      {
        // dwv starts its decoder workers from `assets/workers/` relative to the page URL, so the
        // viewer at /studies/{id}/view asks for /studies/{id}/assets/workers/…: serve the copies
        // in public/assets/workers (see public/assets/workers/README.md) whatever the page depth.
        source: '/:path+/assets/workers/:file([a-z0-9]+\\.worker\\.min\\.js)',
        destination: '/assets/workers/:file',
      },
    ];
  },
  async headers() {
    // Pages get their Content Security Policy (with a nonce) from proxy.ts (lib/security).
    const apiPolicy = { key: 'Content-Security-Policy', value: "default-src 'none'; frame-ancestors 'none'; sandbox" };
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
          { key: 'X-Frame-Options', value: 'DENY' },
          // Ignored by browsers over plain HTTP; behind TLS it keeps them on HTTPS.
          { key: 'Strict-Transport-Security', value: 'max-age=63072000; includeSubDomains' },
          { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=(), usb=()' },
          { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
        ],
      },
      // API answers and files are data, never documents: nothing in them may run or be framed.
      { source: '/api/:path*', headers: [apiPolicy] },
      { source: '/dicomweb/:path*', headers: [apiPolicy] },
    ];
  },
};

export default nextConfig;
