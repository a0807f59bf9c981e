#pragma once
// FakeServerDrivenApi: an in-memory stand-in for Stripe's server-driven Terminal endpoints, as
// the stripe driver sees them through ServerDrivenApi. Answers are posted on the io_context.
// It keeps readers and PaymentIntents, honours idempotency keys on process_payment_intent (a
// replay returns the first answer and does not start a second action), and can fail or lose
// the answer of the next call of a given name.

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "till/terminal/stripe_reader.hpp"

namespace till::terminal::testing {

class FakeServerDrivenApi final : public ServerDrivenApi {
 public:
  explicit FakeServerDrivenApi(boost::asio::io_context& io) : io_(io) {}

  std::map<std::string, ServerReader> readers;
  std::map<std::string, ServerPaymentIntent> intents;
  std::vector<std::string> calls;            // "<name> <args>" in call order
  std::map<std::string, Error> fail_next;    // name -> error for the next call of that name
  std::set<std::string> lose_answer_next;    // name -> do the work, answer OutcomeUnknown
  bool refuse_cancel = false;                // the reader is already deciding
  std::set<std::string> hang_next;           // name -> the next call of that name never answers
  std::vector<Cart> displayed;

  void add_reader(const std::string& id, const std::string& status = "online") {
    readers[id] = ServerReader{id, "Counter " + id, "simulated_wisepos_e", "SN-" + id, status, "2.20.0", std::nullopt};
  }
  void add_intent(const std::string& id, std::int64_t amount) {
    intents[id] = ServerPaymentIntent{id, "requires_payment_method", amount, "usd", "", {}, ""};
  }

  // Like POST /v1/test_helpers/terminal/readers/{id}/present_payment_method.
  void present_payment_method(const std::string& reader_id, const std::string& number) {
    auto& r = readers.at(reader_id);
    REQUIRE(r.action);
    auto& pi = intents.at(r.action->payment_intent_id);
    pi.payment_method_id = "pm_fake_" + std::to_string(++pm_counter_);
    pi.card.brand = "visa";
    pi.card.last4 = number.substr(number.size() - 4);
    pi.card.read_method = "contact_emv";
    if (number == "4000000000009995") {
      pi.status = "requires_payment_method";
      pi.decline_code = "insufficient_funds";
      r.action->status = "failed";
      r.action->failure_code = "card_declined";
    } else {
      pi.status = "requires_capture";
      r.action->status = "succeeded";
    }
  }

  void async_list_readers(Callback<std::vector<ServerReader>> done) override {
    calls.push_back("list_readers");
    if (hang_next.erase("list_readers")) return;
    if (auto e = take_fault("list_readers")) return answer(std::move(done), Result<std::vector<ServerReader>>(tl::unexpected(*e)));
    std::vector<ServerReader> out;
    for (auto& [id, r] : readers) out.push_back(r);
    answer(std::move(done), Result<std::vector<ServerReader>>(out));
  }

  void async_register_reader(const std::string& code, const std::string& label, const std::string&,
                             const std::string&, Callback<ServerReader> done) override {
    calls.push_back("register_reader " + code);
    if (code != "simulated-wpe")
      return answer(std::move(done), Result<ServerReader>(fail(ErrorKind::InvalidArgument, "bad registration code")));
    const std::string id = "tmr_reg" + std::to_string(readers.size() + 1);
    add_reader(id);
    readers[id].label = label;
    answer(std::move(done), Result<ServerReader>(readers[id]));
  }

  void async_retrieve_reader(const std::string& id, Callback<ServerReader> done) override {
    calls.push_back("retrieve_reader " + id);
    if (auto e = take_fault("retrieve_reader")) return answer(std::move(done), Result<ServerReader>(tl::unexpected(*e)));
    auto it = readers.find(id);
    if (it == readers.end()) return answer(std::move(done), Result<ServerReader>(fail(ErrorKind::NotFound, "no such reader")));
    answer(std::move(done), Result<ServerReader>(it->second));
  }

  void async_process_payment_intent(const std::string& reader_id, const std::string& pi,
                                    const std::string& key, Callback<ServerReader> done) override {
    calls.push_back("process_payment_intent " + reader_id + " " + pi + " " + key);
    if (auto it = replies_.find(key); it != replies_.end()) return answer(std::move(done), Result<ServerReader>(it->second));
    if (auto e = take_fault("process_payment_intent")) return answer(std::move(done), Result<ServerReader>(tl::unexpected(*e)));
    auto& r = readers.at(reader_id);
    if (r.action && r.action->status == "in_progress")
      return answer(std::move(done), Result<ServerReader>(fail(ErrorKind::FailedPrecondition, "terminal_reader_busy")));
    r.action = ServerReaderAction{"process_payment_intent", "in_progress", "", "", pi};
    ++processed_;
    replies_[key] = r;
    if (lose_answer_next.erase("process_payment_intent"))
      return answer(std::move(done), Result<ServerReader>(fail(ErrorKind::OutcomeUnknown, "connection lost")));
    answer(std::move(done), Result<ServerReader>(r));
  }

  void async_set_reader_display(const std::string& reader_id, const Cart& cart, const std::string&,
                                Callback<ServerReader> done) override {
    calls.push_back("set_reader_display " + reader_id);
    displayed.push_back(cart);
    auto& r = readers.at(reader_id);
    r.action = ServerReaderAction{"set_reader_display", "succeeded", "", "", ""};
    answer(std::move(done), Result<ServerReader>(r));
  }

  void async_cancel_action(const std::string& reader_id, const std::string&, Callback<ServerReader> done) override {
    calls.push_back("cancel_action " + reader_id);
    auto& r = readers.at(reader_id);
    if (refuse_cancel || !r.action || r.action->status != "in_progress")
      return answer(std::move(done), Result<ServerReader>(fail(ErrorKind::FailedPrecondition, "terminal_reader_busy: cannot cancel")));
    r.action->status = "failed";
    r.action->failure_code = "canceled";
    answer(std::move(done), Result<ServerReader>(r));
  }

  void async_retrieve_payment_intent(const std::string& id, Callback<ServerPaymentIntent> done) override {
    calls.push_back("retrieve_payment_intent " + id);
    answer(std::move(done), Result<ServerPaymentIntent>(intents.at(id)));
  }

  int processed() const { return processed_; }
  int count(const std::string& prefix) const {
    int n = 0;
    for (const auto& c : calls) n += c.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }

 private:
  std::optional<Error> take_fault(const std::string& name) {
    auto it = fail_next.find(name);
    if (it == fail_next.end()) return std::nullopt;
    Error e = it->second;
    fail_next.erase(it);
    return e;
  }
  template <class T>
  void answer(Callback<T> done, Result<T> r) {
    boost::asio::post(io_, [done = std::move(done), r = std::move(r)] { done(r); });
  }

  boost::asio::io_context& io_;
  std::map<std::string, ServerReader> replies_;
  int processed_ = 0;
  int pm_counter_ = 0;
};

}  // namespace till::terminal::testing
