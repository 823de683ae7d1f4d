/**
 * What a page says while the database is away: in the browser after a failed render
 * (service-error.tsx) and, before any render, in the proxy's 503 answer (outagePage).
 */
export const OUTAGE_RETRY_SECONDS = 5;
export const OUTAGE_TITLE = 'Service temporarily unavailable';
export const OUTAGE_DATABASE_TEXT = `The database cannot be reached right now. Nothing you saved is lost; this page tries again every ${OUTAGE_RETRY_SECONDS} seconds.`;

/** A self-contained page (no script, no stylesheet request) that reloads itself. */
export function outagePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${OUTAGE_RETRY_SECONDS}">
<title>${OUTAGE_TITLE}</title>
<style>
body { margin: 0; min-height: 100vh; display: grid; place-items: center; font: 15px/1.5 system-ui, sans-serif; background: #0f1419; color: #e6edf3; }
main { max-width: 420px; padding: 20px 24px; border: 1px solid #2c3742; border-radius: 8px; background: #171e26; }
h1 { font-size: 20px; margin: 0 0 8px; }
a { color: #7cb7ff; }
</style>
</head>
<body>
<main data-testid="service-error" role="alert">
<h1>${OUTAGE_TITLE}</h1>
<p>${OUTAGE_DATABASE_TEXT}</p>
<p><a href="">Try again</a></p>
</main>
</body>
</html>
`;
}
