// The one request both views make to the avatarcall server: a call for this customer.

/** Ask the server for a call; resolves to its ticket ({call_id, token, ...}). */
export async function requestCall(name) {
  const response = await fetch('/api/calls', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ language: 'en', name }),
  });
  if (!response.ok) throw new Error((await response.json()).message ?? 'The call could not start.');
  return response.json();
}
