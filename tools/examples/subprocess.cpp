// Subprocesses (issue 17): asyncio's create_subprocess_exec / communicate /
// returncode, on weft::io::Process.
//
//   proc = await asyncio.create_subprocess_exec(
//       sys.executable, '-c', code, stdout=asyncio.subprocess.PIPE)
//   line = await proc.stdout.readline()
//   await proc.wait()
//
//   proc = await asyncio.create_subprocess_exec('cat', stdin=PIPE, stdout=PIPE)
//   stdout, stderr = await proc.communicate(b'ping')
//   print(f'[cat exited with {proc.returncode}]')
#include <cstdio>
#include <string>

#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace io = weft::io;

weft::Task<void> async_main() {
  // Read a child's output line by line.
  io::ProcessOptions o;
  o.stdout_mode = io::Stdio::pipe;
  io::Process p = co_await io::create_subprocess_exec(o, "python3", "-c",
                                                      "print('hello from a child')\nprint('bye')");
  std::string line = co_await p.stdout_pipe().readline();
  std::printf("first line: %s", line.c_str());
  io::ExitStatus st = co_await p.wait();
  std::printf("[python3 exited with %d]\n", st.returncode());

  // communicate(): feed stdin, collect stdout (no shell involved).
  o.stdin_mode = io::Stdio::pipe;
  io::Process cat = co_await io::create_subprocess_exec(o, "cat");
  io::Communicated r = co_await cat.communicate("ping");
  std::printf("[cat exited with %d] stdout: %s\n", r.status.returncode(), r.out.c_str());

  // An exit code, and a child ended by a signal.
  io::Process failing = co_await io::create_subprocess_exec("python3", "-c", "raise SystemExit(3)");
  std::printf("[exit 3 exited with %d]\n", (co_await failing.wait()).returncode());
  io::Process sleeper = co_await io::create_subprocess_exec("sleep", "60");
  sleeper.kill();
  st = co_await sleeper.wait();
  std::printf("[sleep exited with %d] %s\n", st.returncode(), st.to_string().c_str());
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
