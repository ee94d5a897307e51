// check_output: runs a program and compares what it prints on stdout with an
// expected-output file, allowing only the orderings the Python original leaves
// open. Used by the `examples` CTest label.
//
//   check_output EXPECTED_FILE PROGRAM [ARGS...]
//
// Expected-file syntax, one item per line:
//   text              the next output line, exactly
//   ~regex            the next output line matches this ECMAScript regex
//   @unordered        lines up to @end appear next, in any order
//   @end
//   @interleave       sequences separated by @and, ended by @end: their lines
//   ...               appear next, each sequence in its own order, the
//   @and              sequences interleaved in any way (a producer's lines and
//   ...               a consumer's, when only timing orders them)
//   @end
//   @times MIN MAX L  line L (exact or ~regex) appears MIN..MAX times in a row
//   @order A < B      (after an @unordered or @interleave block) within that
//                     block's lines, the line matching A comes before the one
//                     matching B: a cause the program guarantees (a release
//                     before the start it lets in) where timing orders the rest
//   @exit N           (first line) the expected exit status, default 0
//   # ...             a comment
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Pattern {
  std::string text;
  bool regex = false;
  bool matches(const std::string& line) const {
    return regex ? std::regex_match(line, std::regex(text)) : line == text;
  }
};

Pattern pattern(const std::string& s) {
  if (!s.empty() && s[0] == '~') return {s.substr(1), true};
  return {s, false};
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int fail(const std::string& why, const std::vector<std::string>& out) {
  std::cerr << "check_output: " << why << "\n--- program output ---\n";
  for (auto& l : out)
    std::cerr << l << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: check_output EXPECTED_FILE PROGRAM [ARGS...]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "check_output: cannot read " << argv[1] << "\n";
    return 2;
  }
  std::vector<std::string> expected;
  for (std::string line; std::getline(in, line);)
    expected.push_back(line);

  std::string cmd;
  for (int i = 2; i < argc; ++i)
    cmd += shell_quote(argv[i]) + " ";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    std::cerr << "check_output: cannot run " << argv[2] << "\n";
    return 2;
  }
  std::vector<std::string> out;
  std::string cur;
  for (int c; (c = std::fgetc(p)) != EOF;) {
    if (c == '\n') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  int status = pclose(p);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

  int want_code = 0;
  std::size_t e = 0, o = 0;
  // The output lines the last @unordered or @interleave block matched, for @order.
  std::size_t block_begin = 0, block_end = 0;
  auto first_in_block = [&](const Pattern& p) -> std::size_t {
    for (std::size_t k = block_begin; k < block_end; ++k)
      if (p.matches(out[k])) return k;
    return block_end;
  };
  for (; e < expected.size(); ++e) {
    const std::string& line = expected[e];
    if (line.rfind("#", 0) == 0) continue;
    if (line.rfind("@exit ", 0) == 0) {
      want_code = std::stoi(line.substr(6));
      continue;
    }
    if (line.rfind("@order ", 0) == 0) {
      std::string spec = line.substr(7);
      std::size_t lt = spec.find(" < ");
      if (lt == std::string::npos || block_end == block_begin) {
        std::cerr << "check_output: '" << line
                  << "' needs the form '@order A < B' after an @unordered or @interleave block\n";
        return 2;
      }
      std::string a = spec.substr(0, lt), b = spec.substr(lt + 3);
      std::size_t ia = first_in_block(pattern(a)), ib = first_in_block(pattern(b));
      if (ia == block_end || ib == block_end)
        return fail("@order: '" + (ia == block_end ? a : b) + "' is not in the block before it",
                    out);
      if (ia > ib)
        return fail("line " + std::to_string(ib + 1) + " '" + out[ib] + "' comes before line " +
                        std::to_string(ia + 1) + " '" + out[ia] + "'",
                    out);
      continue;
    }
    if (line == "@unordered") {
      block_begin = o;
      std::vector<Pattern> block;
      for (++e; e < expected.size() && expected[e] != "@end"; ++e)
        block.push_back(pattern(expected[e]));
      std::vector<bool> used(block.size(), false);
      for (std::size_t k = 0; k < block.size(); ++k, ++o) {
        if (o >= out.size()) return fail("output ended inside an @unordered block", out);
        bool found = false;
        for (std::size_t b = 0; b < block.size() && !found; ++b)
          if (!used[b] && block[b].matches(out[o])) used[b] = found = true;
        if (!found) return fail("unexpected line " + std::to_string(o + 1) + ": " + out[o], out);
      }
      block_end = o;
      continue;
    }
    if (line == "@interleave") {
      block_begin = o;
      std::vector<std::vector<Pattern>> seqs(1);
      std::size_t total = 0;
      for (++e; e < expected.size() && expected[e] != "@end"; ++e) {
        if (expected[e] == "@and") {
          seqs.emplace_back();
        } else {
          seqs.back().push_back(pattern(expected[e]));
          ++total;
        }
      }
      std::vector<std::size_t> next(seqs.size(), 0);
      for (std::size_t k = 0; k < total; ++k, ++o) {
        if (o >= out.size()) return fail("output ended inside an @interleave block", out);
        bool found = false;
        for (std::size_t q = 0; q < seqs.size() && !found; ++q)
          if (next[q] < seqs[q].size() && seqs[q][next[q]].matches(out[o])) ++next[q], found = true;
        if (!found) return fail("unexpected line " + std::to_string(o + 1) + ": " + out[o], out);
      }
      block_end = o;
      continue;
    }
    if (line.rfind("@times ", 0) == 0) {
      std::istringstream ss(line.substr(7));
      int lo = 0, hi = 0;
      ss >> lo >> hi;
      std::string rest;
      std::getline(ss, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      Pattern pat = pattern(rest);
      int n = 0;
      while (o < out.size() && pat.matches(out[o]))
        ++o, ++n;
      if (n < lo || n > hi)
        return fail("'" + rest + "' appeared " + std::to_string(n) + " times, expected " +
                        std::to_string(lo) + ".." + std::to_string(hi),
                    out);
      continue;
    }
    if (o >= out.size()) return fail("output ended; expected: " + line, out);
    if (!pattern(line).matches(out[o]))
      return fail("line " + std::to_string(o + 1) + " is '" + out[o] + "', expected '" + line + "'",
                  out);
    ++o;
  }
  if (o != out.size()) return fail("extra output from line " + std::to_string(o + 1), out);
  if (code != want_code)
    return fail("exit status " + std::to_string(code) + ", expected " + std::to_string(want_code),
                out);
  return 0;
}
