// The crash test's child: commits sales in a loop and, after each commit returns, writes the
// sale id and a newline to stdout in one write(2) ("reported committed"). The parent kills it
// with SIGKILL at random moments and checks that every reported sale survived.
//
//   till_store_crash_child <db> <round> <max_sales>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "store_fixtures.hpp"
#include "till/store/store.hpp"

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--version") {
    std::printf("till_store_crash_child %s\n", TILL_VERSION);
    return 0;
  }
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <db> <round> <max_sales>\n", argv[0]);
    return 2;
  }
  // Never outlive the test that started us.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  const std::string db = argv[1];
  const std::string round = argv[2];
  const long max_sales = std::strtol(argv[3], nullptr, 10);
  till::SystemClock clock;
  auto store = till::store::Store::open(db, clock);
  if (!store) {
    std::fprintf(stderr, "crash child: %s\n", store.error().describe().c_str());
    return 3;
  }
  for (long i = 0; i < max_sales; ++i) {
    // "crash-<round>-<i>": the parent rebuilds the expected contents from the id.
    const std::string id = "crash-" + round + "-" + std::to_string(i);
    auto r = store->sales().persist(till::store::testing::make_sale(id, 5, i));
    if (!r) {
      std::fprintf(stderr, "crash child: %s\n", r.error().describe().c_str());
      return 4;
    }
    const std::string line = id + "\n";
    if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 5;
  }
  return 0;
}
