// Kiosk start-up to first frame with 100,000 sales in the database (issue 6), and peak RSS.
//
// Builds (once per run of the bench, or reused with --keep) a register database the way the store
// writes it: 100,000 five-line sales over 200 days, mixed states (card, cash, declined then
// approved, voided, refunded, forwarded offline payments, a few dead operations with their
// attention items) and, among the latest sales, what a running register has live: offline
// payments waiting to be forwarded, in-doubt attempts, pending and retrying operations. Offline
// tokens and outbox bodies are sealed with a data key, as in the kiosk.
//
// Each measured run is a fresh process (this program re-executed with --child), so peak RSS
// (getrusage ru_maxrss) is the start-up's own. It does what the kiosk does before its first frame:
// open the store as writer (lock, WAL, PRAGMA quick_check, migrations, recover_in_flight), status()
// for the offline banner, load the catalog, build the Model (reader and offline status actions
// through the reducer), then, when built with the UI, create the headless ImGui context (font
// atlas) and draw one frame of the sell screen through ui's harness. After reporting, the child
// times PRAGMA quick_check and integrity_check alone on a separate connection (warm cache), so
// their share of the open is visible. One more run first drops the database's pages from the page
// cache (posix_fadvise DONTNEED on the file only) to show a cold-file start. Last, the start-up
// with IntegrityCheck::Deferred: no check before the first frame, quick_check on a read-only Store
// on a worker thread at the same time, reporting when it finished.
//
//   till_kiosk_startup_bench [--dir DIR] [--sales N] [--runs N] [--keep]
#include <fcntl.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "till/app/catalog.hpp"
#include "till/base/clock.hpp"
#include "till/base/log.hpp"
#include "till/base/random.hpp"
#include "till/pos/checkout.hpp"
#include "till/store/data_key.hpp"
#include "till/store/store.hpp"
#ifdef TILL_BENCH_UI
#include "till/ui/harness.hpp"
#include "till/ui/views.hpp"
#endif

extern char** environ;

namespace {

using namespace till;
using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kBenchKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr const char* kAccount = "acct_1BenchMerchant";

double ms_since(Steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
}

store::DataKey bench_key() {
  auto k = store::DataKey::from_hex(kBenchKey);
  if (!k) {
    std::fprintf(stderr, "bench key: %s\n", k.error().describe().c_str());
    std::exit(1);
  }
  return *k;
}

// ---- building the database -------------------------------------------------------------------

pos::Sale make_sale(Random& r, Timestamp at, pos::SaleState state) {
  pos::Sale s;
  s.id = new_uuid_v4(r);
  s.register_id = "reg_bench";
  s.account_id = kAccount;
  s.currency = "usd";
  s.state = state;
  s.created_at = at;
  s.updated_at = at;
  pos::TaxLine tax{"standard", 88'750, 0, 0};
  for (int i = 0; i < 5; ++i) {
    pos::SaleLine l;
    const auto p = r.uniform(1000);
    l.product_id = "p" + std::to_string(p);
    l.sku = "SKU" + std::to_string(p);
    l.name = "Product number " + std::to_string(p);
    l.quantity = 1 + static_cast<std::int64_t>(r.uniform(3));
    l.unit_price = 100 + static_cast<std::int64_t>(r.uniform(5000));
    l.tax_code = "standard";
    l.tax_rate_ppm = 88'750;
    l.net = l.quantity * l.unit_price;
    l.tax = (l.net * 88'750 + 500'000) / 1'000'000;
    l.gross = l.net + l.tax;
    s.subtotal += l.net;
    s.tax_total += l.tax;
    tax.net += l.net;
    tax.tax += l.tax;
    s.lines.push_back(std::move(l));
  }
  s.taxes.push_back(tax);
  s.total = s.subtotal + s.tax_total;
  return s;
}

pos::PaymentAttempt make_attempt(Random& r, const pos::Sale& s, int number, pos::TenderKind tender,
                                 pos::AttemptState state, std::int64_t amount) {
  pos::PaymentAttempt a;
  a.id = new_uuid_v4(r);
  a.sale_id = s.id;
  a.number = number;
  a.tender = tender;
  a.state = state;
  a.amount = amount;
  a.currency = s.currency;
  a.account_id = kAccount;
  a.created_at = s.created_at;
  a.updated_at = s.created_at;
  if (tender == pos::TenderKind::Card) {
    a.idempotency_key = new_uuid_v4(r);
    a.card.brand = "visa";
    a.card.last4 = "4242";
    a.card.exp_month_year = "12/29";
    a.card.read_method = "contactless_emv";
    a.card.application_id = "A0000000031010";
    a.card.application_label = "VISA CREDIT";
    a.card.authorization_code = std::to_string(100000 + r.uniform(900000));
    a.card.terminal_verification_results = "0000000000";
    a.card.cardholder_verification = "none";
    a.payment_method = "pm_" + new_uuid_v4(r);
    if (state == pos::AttemptState::Approved || state == pos::AttemptState::Declined) {
      a.payment_intent_id = "pi_" + new_uuid_v4(r);
    }
    if (state == pos::AttemptState::Declined) a.decline_code = "insufficient_funds";
  }
  return a;
}

pos::OutboxOperation payment_op(Random& r, const pos::Sale& s, const pos::PaymentAttempt& a, Timestamp due) {
  pos::OutboxOperation o;
  o.kind = pos::OperationKind::CreatePaymentIntent;
  o.sale_id = s.id;
  o.attempt_id = a.id;
  o.account_id = kAccount;
  o.path = "/v1/payment_intents";
  o.body = "amount=" + std::to_string(a.amount) + "&currency=usd&payment_method=" + a.payment_method +
           "&confirm=true&capture_method=automatic&allowed_payment_method_types[0]=card_present"
           "&metadata[sale_id]=" +
           s.id + "&metadata[register_id]=reg_bench&metadata[attempt]=" + std::to_string(a.number);
  o.idempotency_key = a.idempotency_key;
  o.next_attempt_at = due;
  o.created_at = s.created_at;
  (void)r;
  return o;
}

struct Built {
  double seconds = 0;
  std::int64_t sales = 0, attempts = 0, operations = 0;
};

// What one sale of the plan becomes, and what its operation should end as.
enum class Fate { Done, Retrying, Dead, Pending };

std::optional<Built> build_database(const std::string& path, int sales) {
  const auto t0 = Steady::now();
  const Timestamp start = from_unix_ms(1'780'000'000'000);  // 2026-05-28
  const auto span = std::chrono::hours(24 * 200);
  FakeClock clock(start);
  SeededRandom r(6);
  auto opened = store::Store::open(path, clock, {.data_key = bench_key()});
  if (!opened) {
    std::fprintf(stderr, "open for build failed: %s\n", opened.error().describe().c_str());
    return std::nullopt;
  }
  store::Store db = std::move(*opened);
  Built b;
  constexpr int kBatch = 1000;
  const Timestamp far_future = start + std::chrono::hours(24 * 3650);
  for (int first = 0; first < sales; first += kBatch) {
    const int last = std::min(sales, first + kBatch);
    clock.set(start + span * first / sales);
    std::map<std::string, Fate> fates;      // idempotency key -> what the sync did with it
    std::vector<std::string> to_daf;        // attempts a forwarded decline reaches (attention list)
    auto s1 = db.write([&](store::WriteTx& tx) -> Status {
      for (int i = first; i < last; ++i) {
        const Timestamp at = start + span * i / sales;
        const bool recent = i >= sales - 200;
        const int kind = static_cast<int>(r.uniform(100));
        pos::SaleState state = pos::SaleState::Paid;
        if (!recent && kind >= 92 && kind < 94) state = pos::SaleState::Voided;
        if (recent && kind < 3) state = pos::SaleState::Tendering;  // in doubt
        pos::Sale s = make_sale(r, at, state);
        if (auto st = tx.sales().persist(s); !st) return st;
        ++b.sales;
        if (state == pos::SaleState::Voided) continue;
        const auto add = [&](const pos::PaymentAttempt& a, std::optional<Fate> fate, Timestamp due) -> Status {
          if (auto st = tx.attempts().create(a); !st) return st;
          ++b.attempts;
          if (!fate) return ok();
          auto id = tx.outbox().enqueue(payment_op(r, s, a, due));
          if (!id) return fail(id.error());
          ++b.operations;
          fates[a.idempotency_key] = *fate;
          return ok();
        };
        using A = pos::AttemptState;
        using T = pos::TenderKind;
        if (recent && kind < 3) {  // in doubt: the answer was lost; the resolver retries
          if (auto st = add(make_attempt(r, s, 1, T::Card, A::InDoubt, s.total), Fate::Retrying, at); !st) return st;
        } else if (recent && kind < 13) {  // stored offline, waiting to be forwarded
          auto a = make_attempt(r, s, 1, T::Card, A::StoredOffline, s.total);
          a.offline = true;
          if (auto st = add(a, Fate::Pending, far_future); !st) return st;
        } else if (recent && kind < 16) {  // submitted, not yet sent
          if (auto st = add(make_attempt(r, s, 1, T::Card, A::Submitting, s.total), Fate::Pending, far_future); !st)
            return st;
        } else if (kind < 7) {  // cash
          if (auto st = add(make_attempt(r, s, 1, T::Cash, A::Approved, s.total), std::nullopt, at); !st) return st;
        } else if (kind < 10) {  // declined, then another card
          if (auto st = add(make_attempt(r, s, 1, T::Card, A::Declined, s.total), Fate::Done, at); !st) return st;
          if (auto st = add(make_attempt(r, s, 2, T::Card, A::Approved, s.total), Fate::Done, at); !st) return st;
        } else if (kind < 11) {  // forwarded offline payment
          auto a = make_attempt(r, s, 1, T::Card, A::Approved, s.total);
          a.offline = true;
          if (auto st = add(a, Fate::Done, at); !st) return st;
        } else {
          auto a = make_attempt(r, s, 1, T::Card, A::Approved, s.total);
          if (auto st = add(a, Fate::Done, at); !st) return st;
          if (kind < 13) {  // partly refunded later
            pos::OutboxOperation o;
            o.kind = pos::OperationKind::Refund;
            o.sale_id = s.id;
            o.attempt_id = a.id;
            o.account_id = kAccount;
            o.path = "/v1/refunds";
            o.body = "payment_intent=" + a.payment_intent_id + "&amount=" + std::to_string(s.total / 2) +
                     "&metadata[sale_id]=" + s.id;
            o.idempotency_key = new_uuid_v4(r);
            o.next_attempt_at = at;
            o.created_at = at;
            auto id = tx.outbox().enqueue(o);
            if (!id) return fail(id.error());
            ++b.operations;
            fates[o.idempotency_key] = Fate::Done;
          }
        }
        if (!recent && i % 10'000 == 5'000) {  // an offline payment declined when forwarded
          auto a = make_attempt(r, s, 9, T::Card, A::Submitting, 1999);
          a.offline = true;
          if (auto st = add(a, Fate::Dead, at); !st) return st;
          to_daf.push_back(a.id);
        }
      }
      return ok();
    });
    if (!s1) {
      std::fprintf(stderr, "build batch %d: %s\n", first, s1.error().describe().c_str());
      return std::nullopt;
    }
    // The sync engine's part: claim what is due and record each outcome.
    auto claimed = db.outbox().claim_due(start + span * last / sales, kBatch * 4);
    if (!claimed) {
      std::fprintf(stderr, "claim: %s\n", claimed.error().describe().c_str());
      return std::nullopt;
    }
    auto s2 = db.write([&](store::WriteTx& tx) -> Status {
      for (const auto& o : *claimed) {
        const Fate f = fates.count(o.idempotency_key) ? fates[o.idempotency_key] : Fate::Done;
        Status st = ok();
        if (f == Fate::Done) st = tx.outbox().complete(o.id, {"req_" + o.idempotency_key.substr(0, 8), "pi_x"});
        if (f == Fate::Retrying)
          st = tx.outbox().mark_failed(o.id, {"timeout", "", far_future});  // stays failed_retryable here
        if (f == Fate::Dead) st = tx.outbox().mark_dead(o.id, {"card_declined after forwarding", "req_dead", {}});
        if (!st) return st;
      }
      for (const auto& id : to_daf) {
        store::AttemptUpdate u;
        u.attempt_id = id;
        u.event = pos::AttemptEvent::StripeDeclined;  // a stored payment: declined_after_forward
        u.decline_code = "card_declined";
        if (auto st = tx.attempts().update(u); !st) return fail(st.error());
      }
      return ok();
    });
    if (!s2) {
      std::fprintf(stderr, "build outcomes %d: %s\n", first, s2.error().describe().c_str());
      return std::nullopt;
    }
  }
  b.seconds = ms_since(t0) / 1000.0;
  return b;
}

// ---- one start-up, in a fresh process ------------------------------------------------------------

struct Phase {
  const char* name;
  double ms;
};

// `deferred`: open without the integrity check and run quick_check on a read-only Store on a
// worker thread meanwhile (the recommended start-up, see the README), reporting when it finished.
int run_child(const std::string& db_path, bool deferred) {
  const auto t0 = Steady::now();
  log::set_level(log::Level::Warn);
  std::vector<Phase> phases;
  auto mark = [&, last = t0](const char* name) mutable {
    const auto now = Steady::now();
    phases.push_back({name, std::chrono::duration<double, std::milli>(now - last).count()});
    last = now;
  };
  SystemClock& clock = SystemClock::instance();
  auto opened = store::Store::open(
      db_path, clock,
      {.integrity_check = deferred ? store::IntegrityCheck::Deferred : store::IntegrityCheck::Quick,
       .data_key = bench_key()});
  if (!opened) {
    std::fprintf(stderr, "child open: %s\n", opened.error().describe().c_str());
    return 1;
  }
  store::Store db = std::move(*opened);
  mark("open_store");
  double background_check_done = 0;
  bool background_ok = true;
  std::thread checker;
  if (deferred) {
    checker = std::thread([&] {
      auto reader = store::Store::open(db_path, clock,
                                       {.mode = store::OpenMode::ReadOnly,
                                        .integrity_check = store::IntegrityCheck::Deferred,
                                        .data_key = bench_key()});
      background_ok = reader && reader->check_integrity();
      background_check_done = ms_since(t0);
    });
  }
  auto status = db.reports().status();
  if (!status) {
    std::fprintf(stderr, "child status: %s\n", status.error().describe().c_str());
    return 1;
  }
  mark("status");
  auto doc = app::load_catalog(app::demo_catalog_path());
  if (!doc) {
    std::fprintf(stderr, "child catalog: %s\n", doc.error().describe().c_str());
    return 1;
  }
  mark("catalog");
  SeededRandom random(1);
  pos::StoredTotals totals;
  for (const auto& c : status->offline_stored) {
    totals.by_currency[c.currency] = pos::StoredCurrency{c.count, c.amount};
    totals.count += c.count;
    if (!totals.oldest || c.oldest < *totals.oldest) totals.oldest = c.oldest;
  }
  const pos::Context ctx{.now = clock.now(),
                         .random = random,
                         .register_id = "reg_bench",
                         .account_id = kAccount,
                         .currency = doc->catalog.currency(),
                         .catalog = doc->catalog,
                         .risk = pos::RiskConfig::safe_defaults(),
                         .merchant = doc->merchant,
                         .manager_pin = "1234"};
  pos::Model model;
  model = pos::update(model, pos::ReaderStatusChanged{true, "bench reader", ""}, ctx).model;
  model = pos::update(model, pos::OfflineStatusUpdated{totals}, ctx).model;
  mark("model");
  std::size_t vertices = 0;
#ifdef TILL_BENCH_UI
  ui::KioskConfig config;
  config.register_id = "reg_bench";
  config.account_id = kAccount;
  config.manager_pin = "1234";
  config.catalog = doc->catalog;
  config.merchant = doc->merchant;
  ui::HeadlessContext imgui;
  mark("imgui_context");
  ui::ViewState state;
  imgui.new_frame();
  const ui::ViewEnv env{.fonts = imgui.fonts(), .now = clock.now(), .config = config, .dispatch = [](pos::Action) {}};
  ui::draw_kiosk(model, state, env);
  imgui.end_frame();
  vertices = static_cast<std::size_t>(ImGui::GetDrawData()->TotalVtxCount);
  mark("first_frame");
#endif
  const double total = ms_since(t0);
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("FRAME total=%.3f maxrss_kb=%ld vertices=%zu offline=%lld in_doubt=%zu dead=%zu attention=%zu", total,
              ru.ru_maxrss, vertices, static_cast<long long>(totals.count), status->in_doubt.size(),
              status->dead.size(), status->attention.size());
  for (const auto& p : phases) std::printf(" %s=%.3f", p.name, p.ms);
  std::printf("\n");
  std::fflush(stdout);

  if (deferred) {
    checker.join();
    std::printf("CHECKS background_quick_check_done=%.3f background_ok=%d\n", background_check_done,
                background_ok ? 1 : 0);
    return background_ok ? 0 : 1;
  }
  // The integrity checks alone, on their own read-only connection (the cache is warm now).
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return 1;
  std::printf("CHECKS");
  for (const char* pragma : {"PRAGMA quick_check", "PRAGMA integrity_check"}) {
    const auto c0 = Steady::now();
    sqlite3_stmt* st = nullptr;
    std::string result;
    if (sqlite3_prepare_v2(raw, pragma, -1, &st, nullptr) == SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) result += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    std::printf(" %s=%.3f", std::strcmp(pragma, "PRAGMA quick_check") == 0 ? "quick_check" : "integrity_check",
                ms_since(c0));
    if (result != "ok") std::printf(" check_result=%s", result.c_str());
  }
  std::printf("\n");
  sqlite3_close(raw);
  return 0;
}

// ---- the parent ------------------------------------------------------------------------------------

std::map<std::string, double> parse_figures(const std::string& line) {
  std::map<std::string, double> out;
  std::istringstream in(line);
  std::string word;
  in >> word;  // FRAME / CHECKS
  while (in >> word) {
    const auto eq = word.find('=');
    if (eq == std::string::npos) continue;
    try {
      out[word.substr(0, eq)] = std::stod(word.substr(eq + 1));
    } catch (...) {
    }
  }
  return out;
}

struct ChildRun {
  std::map<std::string, double> frame;
  std::map<std::string, double> checks;
  double spawn_to_frame_ms = 0;  // fork/exec, dynamic loading and main() included
};

std::optional<ChildRun> spawn_child(const std::string& self, const std::string& db, bool deferred = false) {
  int fds[2];
  if (::pipe(fds) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<std::string> args{self, deferred ? "--child-deferred" : "--child", db};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto t0 = Steady::now();
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return std::nullopt;
  }
  ChildRun run;
  std::string buf;
  char chunk[4096];
  bool have_frame = false;
  for (;;) {
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      const std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (line.rfind("FRAME", 0) == 0) {
        run.spawn_to_frame_ms = ms_since(t0);
        run.frame = parse_figures(line);
        have_frame = true;
      } else if (line.rfind("CHECKS", 0) == 0) {
        run.checks = parse_figures(line);
      }
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!have_frame || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return run;
}

double p50(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void drop_file_cache(const std::string& path) {
  for (const std::string& f : {path, path + "-wal", path + "-shm"}) {
    const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir_arg;
  int sales = 100'000;
  int runs = 7;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--version") {
      std::printf("till_kiosk_startup_bench %s\n", TILL_VERSION);
      return 0;
    }
    if (a == "--child" && i + 1 < argc) return run_child(argv[i + 1], false);
    if (a == "--child-deferred" && i + 1 < argc) return run_child(argv[i + 1], true);
    if (a == "--dir" && i + 1 < argc) {
      dir_arg = argv[++i];
    } else if (a == "--sales" && i + 1 < argc) {
      sales = std::max(1000, std::atoi(argv[++i]));
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: %s [--dir DIR] [--sales N] [--runs N] [--keep]\n", argv[0]);
      return 2;
    }
  }
  log::set_level(log::Level::Warn);
  const fs::path base = dir_arg.empty() ? fs::current_path() : fs::path(dir_arg);
  std::error_code ec;
  fs::create_directories(base, ec);
  const std::string db = (base / ("kiosk_startup_" + std::to_string(sales) + ".db")).string();
  const std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) {
    std::fprintf(stderr, "cannot find this program's path: %s\n", ec.message().c_str());
    return 1;
  }

  if (keep && fs::exists(db)) {
    std::printf("kiosk startup bench: reusing %s (--keep)\n", db.c_str());
  } else {
    for (const std::string& f : {db, db + "-wal", db + "-shm", db + ".lock"}) fs::remove(f, ec);
    std::printf("kiosk startup bench: building %d sales x 5 lines in %s ...\n", sales, db.c_str());
    std::fflush(stdout);
    auto built = build_database(db, sales);
    if (!built) return 1;
    std::printf("  built in %.1f s: %lld sales, %lld attempts, %lld outbox operations\n", built->seconds,
                static_cast<long long>(built->sales), static_cast<long long>(built->attempts),
                static_cast<long long>(built->operations));
  }
  const auto size = fs::file_size(db, ec);
  std::printf("  database %.1f MiB (%s)\n", static_cast<double>(size) / (1024.0 * 1024.0), db.c_str());
#ifdef TILL_BENCH_UI
  std::printf("  measured: open store + status + catalog + Model + ImGui context + first headless frame\n");
#else
  std::printf("  measured: open store + status + catalog + Model (built without the UI: no frame)\n");
#endif

  // The cold-file run first, then warm runs.
  drop_file_cache(db);
  auto cold = spawn_child(self, db);
  if (!cold) {
    std::fprintf(stderr, "cold start-up run failed\n");
    return 1;
  }
  std::vector<ChildRun> warm;
  for (int i = 0; i < runs; ++i) {
    auto run = spawn_child(self, db);
    if (!run) {
      std::fprintf(stderr, "start-up run %d failed\n", i);
      return 1;
    }
    warm.push_back(std::move(*run));
  }
  const auto column = [&](const char* key, bool checks = false) {
    std::vector<double> v;
    for (const auto& r : warm) {
      const auto& m = checks ? r.checks : r.frame;
      if (auto it = m.find(key); it != m.end()) v.push_back(it->second);
    }
    return p50(v);
  };
  std::vector<double> spawn;
  for (const auto& r : warm) spawn.push_back(r.spawn_to_frame_ms);
  const auto first = warm.front().frame;
  std::printf("  live state in the database: %.0f offline payments, %.0f in doubt, %.0f dead operations, %.0f "
              "attention items\n",
              first.at("offline"), first.at("in_doubt"), first.at("dead"), first.at("attention"));
  std::printf("  with the check at open (IntegrityCheck::Quick, what till-sync does), start-up to first frame, p50 of %d "
              "warm runs: %.1f ms in main() (%.1f ms from spawn)\n",
              runs,
              column("total"), p50(spawn));
  for (const char* phase : {"open_store", "status", "catalog", "model", "imgui_context", "first_frame"}) {
    if (first.count(phase) == 0) continue;
    std::printf("    %-14s p50 %8.1f ms   (cold file %8.1f ms)\n", phase, column(phase), cold->frame.at(phase));
  }
  std::printf("  cold-file start-up (database pages dropped from the page cache first): %.1f ms\n",
              cold->frame.at("total"));
  std::printf("  peak RSS at first frame: p50 %.1f MiB (cold run %.1f MiB)\n", column("maxrss_kb") / 1024.0,
              cold->frame.at("maxrss_kb") / 1024.0);
  const double quick = column("quick_check", true);
  const double full = column("integrity_check", true);
  std::printf("  PRAGMA quick_check alone on its own connection (warm): p50 %.1f ms; integrity_check alone: %.1f ms\n",
              quick, full);

  // The kiosk's start-up (app::Runtime): no check before the first frame, quick_check on a worker
  // thread; tenders wait for it.
  std::vector<ChildRun> deferred;
  for (int i = 0; i < runs; ++i) {
    auto run = spawn_child(self, db, true);
    if (!run) {
      std::fprintf(stderr, "deferred start-up run %d failed\n", i);
      return 1;
    }
    deferred.push_back(std::move(*run));
  }
  const auto deferred_column = [&](const char* key, bool checks = false) {
    std::vector<double> v;
    for (const auto& r : deferred) {
      const auto& m = checks ? r.checks : r.frame;
      if (auto it = m.find(key); it != m.end()) v.push_back(it->second);
    }
    return p50(v);
  };
  std::printf("  THE KIOSK'S START-UP: IntegrityCheck::Deferred, quick_check on a read-only Store on a worker "
              "thread (app::Runtime), p50 of %d:\n"
              "    first frame %.1f ms (open_store %.1f ms); background quick_check done (tenders taken from then) at %.1f ms; peak RSS %.1f "
              "MiB\n",
              runs, deferred_column("total"), deferred_column("open_store"),
              deferred_column("background_quick_check_done", true), deferred_column("maxrss_kb") / 1024.0);
  const double with_check = column("open_store");
  const double without = deferred_column("open_store");
  std::printf("  quick_check's share of opening the store: %.0f%% (%.1f ms with it, %.1f ms without)\n",
              with_check > 0 ? 100.0 * (with_check - without) / with_check : 0.0, with_check, without);
  if (!keep) {
    for (const std::string& f : {db, db + "-wal", db + "-shm", db + ".lock"}) fs::remove(f, ec);
  }
  return 0;
}
