// weft::ExceptionGroup: construction errors, what()/message(), reprs, nested
// groups, contains/split/subgroup/rethrow_rest/handle (the except* idioms), and
// the exception helpers.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

namespace {

struct ValueError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class E>
std::exception_ptr ptr(const std::string& msg) {
  return std::make_exception_ptr(E(msg));
}

weft::ExceptionGroup sample() {
  // ExceptionGroup('top', [ValueError('v1'), TypeError('t1'),
  //                        ExceptionGroup('inner', [ValueError('v2'), TypeError('t2')])])
  weft::ExceptionGroup inner("inner", {ptr<ValueError>("v2"), ptr<TypeError>("t2")});
  return weft::ExceptionGroup(
      "top", {ptr<ValueError>("v1"), ptr<TypeError>("t1"), std::make_exception_ptr(inner)});
}

TEST(ExceptionGroup, BadConstructionIsRejected) {
  EXPECT_THROW(weft::ExceptionGroup("empty", {}), std::invalid_argument);
  EXPECT_THROW(weft::ExceptionGroup("null", {nullptr}), std::invalid_argument);
  EXPECT_THROW(weft::as_exception_group(nullptr), std::invalid_argument);
  EXPECT_THROW(weft::Outcome<int>{std::exception_ptr{}}, std::invalid_argument);
}

TEST(ExceptionGroup, IsAStdExceptionWithPythonsStr) {
  weft::ExceptionGroup g("two", {ptr<ValueError>("a"), ptr<TypeError>("b")});
  const std::exception& base = g;
  EXPECT_STREQ(base.what(), "two (2 sub-exceptions)");
  EXPECT_EQ(g.message(), "two");
  EXPECT_EQ(g.size(), 2u);
  weft::ExceptionGroup one("one", {ptr<ValueError>("a")});
  EXPECT_STREQ(one.what(), "one (1 sub-exception)");
}

TEST(ExceptionGroup, Reprs) {
  auto g = sample();
  EXPECT_EQ(g.repr(),
            "ExceptionGroup('top', [ValueError('v1'), TypeError('t1'), "
            "ExceptionGroup('inner', [ValueError('v2'), TypeError('t2')])])");
  weft::ExceptionGroup one("m", {ptr<ValueError>("C 失敗")});
  EXPECT_EQ(one.exceptions_repr(), "(ValueError('C 失敗'),)");
  EXPECT_EQ(weft::exception_repr(ptr<ValueError>("it's")), "ValueError(\"it's\")");
  EXPECT_EQ(weft::exception_repr(std::make_exception_ptr(weft::CancelledError())),
            "CancelledError()");
  EXPECT_EQ(weft::exception_repr(std::make_exception_ptr(42)), "int()");
  EXPECT_EQ(weft::exception_repr(nullptr), "None");
  EXPECT_EQ(weft::exception_message(ptr<ValueError>("msg")), "msg");
  EXPECT_EQ(weft::exception_message(std::make_exception_ptr(weft::CancelledError())), "");
}

TEST(ExceptionGroup, NestingIsKeptAndLeavesFlatten) {
  auto g = sample();
  EXPECT_EQ(g.size(), 3u);
  auto leaves = g.leaves();
  ASSERT_EQ(leaves.size(), 4u);
  std::vector<std::string> msgs;
  for (auto& e : leaves)
    msgs.push_back(weft::exception_message(e));
  EXPECT_EQ(msgs, (std::vector<std::string>{"v1", "t1", "v2", "t2"}));
}

TEST(ExceptionGroup, ContainsLooksThroughNesting) {
  weft::ExceptionGroup only_nested(
      "outer", {std::make_exception_ptr(weft::ExceptionGroup("in", {ptr<TypeError>("t")}))});
  EXPECT_TRUE(only_nested.contains<TypeError>());
  EXPECT_FALSE(only_nested.contains<ValueError>());
  EXPECT_TRUE(only_nested.contains<std::runtime_error>());
  EXPECT_TRUE(only_nested.contains<weft::ExceptionGroup>());  // the group itself is one
}

TEST(ExceptionGroup, SplitKeepsStructureAndMessages) {
  auto g = sample();
  auto [match, rest] = g.split<ValueError>();
  ASSERT_TRUE(match && rest);
  EXPECT_EQ(match->repr(),
            "ExceptionGroup('top', [ValueError('v1'), "
            "ExceptionGroup('inner', [ValueError('v2')])])");
  EXPECT_EQ(rest->repr(),
            "ExceptionGroup('top', [TypeError('t1'), "
            "ExceptionGroup('inner', [TypeError('t2')])])");
  auto [all, none] = g.split<std::runtime_error>();
  EXPECT_TRUE(all.has_value());
  EXPECT_FALSE(none.has_value());
  auto [whole, nothing] = g.split<std::exception>();  // the group is a std::exception
  EXPECT_EQ(whole->repr(), g.repr());
  EXPECT_FALSE(nothing.has_value());
  EXPECT_FALSE(g.subgroup<std::logic_error>().has_value());
  auto by_msg =
      g.split_if([](const std::exception_ptr& e) { return weft::exception_message(e) == "t2"; });
  EXPECT_EQ(by_msg.first->repr(),
            "ExceptionGroup('top', [ExceptionGroup('inner', "
            "[TypeError('t2')])])");
}

TEST(ExceptionGroup, RethrowRest) {
  auto g = sample();
  try {
    g.rethrow_rest<ValueError>();
    ADD_FAILURE() << "nothing rethrown";
  } catch (const weft::ExceptionGroup& rest) {
    EXPECT_FALSE(rest.contains<ValueError>());
    EXPECT_TRUE(rest.contains<TypeError>());
  }
  EXPECT_NO_THROW(g.rethrow_rest<std::runtime_error>());
}

TEST(ExceptionGroup, HandleIsOneExceptStarClause) {
  auto g = sample();
  // except* ValueError as eg: ...   (TypeErrors propagate)
  std::vector<std::string> seen;
  try {
    g.handle<ValueError>([&](const weft::ExceptionGroup& eg) {
      for (auto& e : eg.leaves())
        seen.push_back(weft::exception_message(e));
    });
    ADD_FAILURE() << "rest not rethrown";
  } catch (const weft::ExceptionGroup& rest) {
    EXPECT_EQ(rest.leaves().size(), 2u);
    EXPECT_FALSE(rest.contains<ValueError>());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"v1", "v2"}));

  // Everything handled: nothing propagates.
  weft::ExceptionGroup values("v", {ptr<ValueError>("x")});
  int calls = 0;
  EXPECT_NO_THROW(values.handle<ValueError>([&](const weft::ExceptionGroup&) { ++calls; }));
  EXPECT_EQ(calls, 1);

  // Nothing matches: the handler is not called, the group propagates as is.
  EXPECT_THROW(values.handle<TypeError>([&](const weft::ExceptionGroup&) { ++calls; }),
               weft::ExceptionGroup);
  EXPECT_EQ(calls, 1);

  // A handler that raises: combined with the rest in a new group.
  try {
    g.handle<ValueError>([](const weft::ExceptionGroup&) { throw std::logic_error("in handler"); });
  } catch (const weft::ExceptionGroup& combined) {
    EXPECT_EQ(combined.size(), 2u);
    EXPECT_TRUE(combined.contains<std::logic_error>());
    EXPECT_TRUE(combined.contains<TypeError>());
  }
  // Raising with nothing left: the new exception alone.
  EXPECT_THROW(
      values.handle<ValueError>([](const weft::ExceptionGroup&) { throw std::logic_error("x"); }),
      std::logic_error);
}

TEST(ExceptionGroup, AsExceptionGroupWrapsNakedExceptions) {
  auto g = weft::as_exception_group(ptr<ValueError>("naked"));
  EXPECT_EQ(g.repr(), "ExceptionGroup('', [ValueError('naked')])");
  auto same = weft::as_exception_group(std::make_exception_ptr(sample()));
  EXPECT_EQ(same.repr(), sample().repr());
}

TEST(ExceptionGroup, CopiesShareAndOutcomeHoldsEither) {
  auto g = sample();
  weft::ExceptionGroup copy = g;
  EXPECT_EQ(&copy.exceptions(), &g.exceptions());  // one shared, immutable list

  weft::Outcome<int> v(5);
  EXPECT_TRUE(v.has_value());
  EXPECT_EQ(v.value(), 5);
  EXPECT_EQ(v.error(), nullptr);
  weft::Outcome<int> e(ptr<ValueError>("bad"));
  EXPECT_FALSE(e);
  EXPECT_TRUE(e.has_error());
  EXPECT_FALSE(e.cancelled());
  EXPECT_THROW(e.value(), ValueError);
  weft::Outcome<weft::Void> c(std::make_exception_ptr(weft::CancelledError()));
  EXPECT_TRUE(c.cancelled());
}

}  // namespace
