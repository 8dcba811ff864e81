// The CPU time of one argon2id verification by the peer's hasher (@node-rs/argon2), best of 5,
// in milliseconds: bench/machine_speed.py prints it beside the provider's own (libsodium).
//   node bench/peer/argon2_speed.js '$argon2id$v=19$m=19456,t=2,p=1$...' PASSWORD
import { verify } from '@node-rs/argon2';

const [stored, password] = process.argv.slice(2);
let best = Infinity;
for (let round = 0; round < 5; round += 1) {
  const started = process.cpuUsage();
  if (!(await verify(stored, password))) throw new Error('the hash does not match the password');
  const used = process.cpuUsage(started);
  best = Math.min(best, (used.user + used.system) / 1000);
}
console.log(best.toFixed(2));
