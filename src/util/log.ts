/** Logs and progress go to stderr only; stdout carries results. */
let quiet = false;
export function setQuiet(value: boolean): void {
  quiet = value;
}
export function info(message: string): void {
  if (!quiet) process.stderr.write(`${message}\n`);
}
export function warn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}
