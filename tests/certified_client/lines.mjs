// The line protocol between tests/test_interop.py and a relying-party script: one JSON object
// per line on stdout ({"authorization_url"}, {"logout_url"}, {"device"}, {"result"}), and one
// line back on stdin after each of the first three (the callback URL, then "done", "approved").
import { createInterface } from 'node:readline'

const stdin = createInterface({ input: process.stdin })
const lines = stdin[Symbol.asyncIterator]()

export async function readLine () {
  const { value, done } = await lines.next()
  if (done) throw new Error('stdin closed before the test answered')
  return value.trim()
}

export function emit (object) {
  process.stdout.write(JSON.stringify(object) + '\n')
}

export function close () {
  stdin.close()
}

export const settings = process.env
