// udp-load: the load generator of bench/udp_echo.sh. One thread, one
// connected UDP socket, WINDOW datagrams of SIZE bytes in flight to an echo
// server: every echo that comes back is counted and answered with the next
// datagram. After a warm-up second it counts for SECONDS and prints one line:
//
//   datagrams_per_sec=X lost=N
//
// A datagram that does not come back within 20 ms counts as lost and is
// replaced, so loss cannot stall the window.
//
//   udp-load 127.0.0.1 9999 [SECONDS=5] [WINDOW=32] [SIZE=64]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: udp-load HOST PORT [SECONDS=5] [WINDOW=32] [SIZE=64]\n");
    return 2;
  }
  const double seconds = argc > 3 ? std::atof(argv[3]) : 5.0;
  const int window = argc > 4 ? std::atoi(argv[4]) : 32;
  const std::size_t size = argc > 5 ? static_cast<std::size_t>(std::atoi(argv[5])) : 64;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    std::fprintf(stderr, "udp-load: bad IPv4 address %s\n", argv[1]);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{0, 20 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    std::perror("udp-load: connect");
    return 1;
  }
  std::vector<char> out(size, 'x'), in(size + 64);
  for (int i = 0; i < window; ++i)
    send(fd, out.data(), out.size(), 0);
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto count_from = start + std::chrono::seconds(1);  // warm-up
  const auto until = count_from + std::chrono::duration<double>(seconds);
  long long echoed = 0, lost = 0;
  for (;;) {
    const auto now = clock::now();
    if (now >= until) break;
    ssize_t n = recv(fd, in.data(), in.size(), 0);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        std::perror("udp-load: recv");
        return 1;
      }
      if (now >= count_from) ++lost;
    } else if (now >= count_from) {
      ++echoed;
    }
    send(fd, out.data(), out.size(), 0);
  }
  std::printf("datagrams_per_sec=%.0f lost=%lld\n", static_cast<double>(echoed) / seconds, lost);
  return 0;
}
