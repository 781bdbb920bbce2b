#include "queryfixtures.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp::Query;

class tst_QueryEvaluator : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void literals_data();
    void literals();
    void arithmetic_data();
    void arithmetic();
    void comparisons_data();
    void comparisons();
    void logic_data();
    void logic();
    void strings_data();
    void strings();
    void timeValues_data();
    void timeValues();
    void fields_data();
    void fields();
    void macros_data();
    void macros();
    void conversions_data();
    void conversions();
    void specExamples_data();
    void specExamples();
    void matchesResult_data();
    void matchesResult();
    void budget_data();
    void budget();
    void evaluateJson_data();
    void evaluateJson();
    void runtimeErrorPosition();
    void copiesShareProgram();

private:
    static void addColumns();
    static void check();
};

void tst_QueryEvaluator::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_QueryEvaluator::addColumns()
{
    QTest::addColumn<QString>("predicate");
    QTest::addColumn<QString>("record");
    QTest::addColumn<QString>("expected");
}

void tst_QueryEvaluator::check()
{
    QFETCH(QString, predicate);
    QFETCH(QString, record);
    QFETCH(QString, expected);
    QCOMPARE(QueryFixtures::evaluateToText(predicate, QueryFixtures::record(record)), expected);
    // A store's rows are records read field by field (issue 20): the same answers.
    QCOMPARE(QueryFixtures::evaluateRecordToText(predicate, QueryFixtures::record(record)), expected);
}

static void row(const char *name, const QString &predicate, const QString &expected,
                const QString &record = u"worker"_s)
{
    QTest::addRow("%s", name) << predicate << record << expected;
}

void tst_QueryEvaluator::literals_data()
{
    addColumns();
    row("int", u"42"_s, u"42"_s);
    row("int-zero", u"0"_s, u"0"_s);
    row("int-negative", u"-7"_s, u"-7"_s);
    row("int-hex", u"0x1F"_s, u"31"_s);
    row("int-hex-negative", u"-0x10"_s, u"-16"_s);
    row("int-max", u"9223372036854775807"_s, u"9223372036854775807"_s);
    row("int-min", u"-9223372036854775808"_s, u"-9223372036854775808"_s);
    row("int-min-parenthesized-is-too-big", u"-(9223372036854775808)"_s, u"!query_syntax"_s);
    row("int-too-big", u"9223372036854775808"_s, u"!query_syntax"_s);
    row("int-far-too-big", u"99999999999999999999"_s, u"!query_syntax"_s);
    row("int-min-negated-overflows", u"-(-9223372036854775808)"_s, u"!query_runtime"_s);
    row("unsigned-refused", u"1u"_s, u"!query_syntax"_s);
    row("double", u"2.5"_s, u"2.5"_s);
    row("double-exponent", u"1e3"_s, u"1000.0"_s);
    row("double-exponent-negative", u"2.5e-1"_s, u"0.25"_s);
    row("double-leading-dot", u".5"_s, u"0.5"_s);
    row("double-negative", u"-0.5"_s, u"-0.5"_s);
    row("double-overflow-refused", u"1e999"_s, u"!query_syntax"_s);
    row("true", u"true"_s, u"true"_s);
    row("false", u"false"_s, u"false"_s);
    row("null", u"null"_s, u"null"_s);
    row("string-double-quotes", u"\"abc\""_s, u"\"abc\""_s);
    row("string-single-quotes", u"'abc'"_s, u"\"abc\""_s);
    row("string-empty", u"''"_s, u"\"\""_s);
    row("string-escape-newline", u"size(\"a\\nb\")"_s, u"3"_s);
    row("string-escape-tab", u"\"a\\tb\" == \"a\tb\""_s, u"true"_s);
    row("string-escape-backslash", u"size(\"\\\\\")"_s, u"1"_s);
    row("string-escape-quote", u"\"\\\"\""_s, u"\"\"\""_s);
    row("string-escape-single-quote", u"'\\''"_s, u"\"'\""_s);
    row("string-escape-unicode", u"\"\\u00e9\" == \"é\""_s, u"true"_s);
    row("string-escape-unicode-upper", u"\"\\U0001F600\" == \"😀\""_s, u"true"_s);
    row("string-escape-hex", u"\"\\x41\""_s, u"\"A\""_s);
    row("string-escape-octal", u"\"\\101\""_s, u"\"A\""_s);
    row("string-escape-surrogate-refused", u"\"\\ud800\""_s, u"!query_syntax"_s);
    row("string-escape-unknown-refused", u"\"\\q\""_s, u"!query_syntax"_s);
    row("string-escape-short-unicode-refused", u"\"\\u12\""_s, u"!query_syntax"_s);
    row("string-raw", u"r\"a\\nb\""_s, u"\"a\\nb\""_s);
    row("string-raw-single", u"R'\\d+'"_s, u"\"\\d+\""_s);
    row("string-triple", u"\"\"\"a\"b\"\"\""_s, u"\"a\"b\""_s);
    row("string-triple-newline", u"size('''a\nb''')"_s, u"3"_s);
    row("string-newline-refused", u"\"a\nb\""_s, u"!query_syntax"_s);
    row("string-unterminated", u"\"abc"_s, u"!query_syntax"_s);
    row("bytes-refused", u"b\"abc\""_s, u"!query_syntax"_s);
    row("list-empty", u"[]"_s, u"[]"_s);
    row("list", u"[1, 'a', true, null]"_s, u"[1, \"a\", true, null]"_s);
    row("list-trailing-comma", u"[1, 2,]"_s, u"[1, 2]"_s);
    row("list-nested", u"[[1], [2, 3]]"_s, u"[[1], [2, 3]]"_s);
    row("map-empty", u"{}"_s, u"{}"_s);
    row("map", u"{'a': 1, \"b\": [2]}"_s, u"{\"a\": 1, \"b\": [2]}"_s);
    row("map-trailing-comma", u"{'a': 1,}"_s, u"{\"a\": 1}"_s);
    row("map-int-key-refused", u"{1: 2}"_s, u"!query_type"_s);
    row("map-duplicate-key", u"{'a': 1, 'a': 2}"_s, u"!query_runtime"_s);
    row("map-computed-key", u"{'a' + 'b': 1}"_s, u"{\"ab\": 1}"_s);
    row("comment", u"1 // the answer\n + 1"_s, u"2"_s);
    row("whitespace", u" \t\n 1\r\n"_s, u"1"_s);
    row("leading-dot-identifier", u".modelType"_s, u"\"swamp/worker\""_s);
}

void tst_QueryEvaluator::literals()
{
    check();
}

void tst_QueryEvaluator::arithmetic_data()
{
    addColumns();
    row("add", u"1 + 2"_s, u"3"_s);
    row("subtract", u"1 - 2"_s, u"-1"_s);
    row("multiply", u"6 * 7"_s, u"42"_s);
    row("divide-truncates", u"7 / 2"_s, u"3"_s);
    row("divide-negative-truncates-toward-zero", u"-7 / 2"_s, u"-3"_s);
    row("modulo", u"7 % 3"_s, u"1"_s);
    row("modulo-negative", u"-7 % 3"_s, u"-1"_s);
    row("precedence-multiply-first", u"1 + 2 * 3"_s, u"7"_s);
    row("precedence-parentheses", u"(1 + 2) * 3"_s, u"9"_s);
    row("left-associative-subtract", u"10 - 4 - 3"_s, u"3"_s);
    row("left-associative-divide", u"100 / 10 / 5"_s, u"2"_s);
    row("left-associative-modulo", u"17 % 10 % 4"_s, u"3"_s);
    row("unary-minus-binds-tighter", u"-2 * 3"_s, u"-6"_s);
    row("unary-minus-expression", u"-(2 + 3)"_s, u"-5"_s);
    row("double-negation", u"--5"_s, u"5"_s);
    row("double-add", u"1.5 + 2.25"_s, u"3.75"_s);
    row("double-divide", u"1.0 / 4.0"_s, u"0.25"_s);
    row("double-multiply", u"1.5 * 2.0"_s, u"3.0"_s);
    row("double-negate", u"-(1.5)"_s, u"-1.5"_s);
    row("int-double-mix-add-refused", u"1 + 1.0"_s, u"!query_type"_s);
    row("int-double-mix-multiply-refused", u"2.0 * 3"_s, u"!query_type"_s);
    row("double-modulo-refused", u"5.0 % 2.0"_s, u"!query_type"_s);
    row("division-by-zero", u"1 / 0"_s, u"!query_runtime"_s);
    row("modulo-by-zero", u"1 % 0"_s, u"!query_runtime"_s);
    row("double-division-by-zero", u"1.0 / 0.0"_s, u"!query_runtime"_s);
    row("overflow-add", u"9223372036854775807 + 1"_s, u"!query_runtime"_s);
    row("overflow-subtract", u"-9223372036854775808 - 1"_s, u"!query_runtime"_s);
    row("overflow-multiply", u"4611686018427387904 * 2"_s, u"!query_runtime"_s);
    row("overflow-negate-min", u"-(-9223372036854775807 - 1)"_s, u"!query_runtime"_s);
    row("overflow-divide-min-by-minus-one", u"-9223372036854775808 / -1"_s, u"!query_runtime"_s);
    row("overflow-modulo-min-by-minus-one", u"-9223372036854775808 % -1"_s, u"!query_runtime"_s);
    row("no-overflow-at-edge", u"9223372036854775806 + 1"_s, u"9223372036854775807"_s);
    row("min-plus-max", u"-9223372036854775808 + 9223372036854775807"_s, u"-1"_s);
    row("string-concat", u"'a' + 'b'"_s, u"\"ab\""_s);
    row("list-concat", u"[1] + [2, 3]"_s, u"[1, 2, 3]"_s);
    row("string-plus-int-refused", u"'a' + 1"_s, u"!query_type"_s);
    row("bool-plus-refused", u"true + true"_s, u"!query_type"_s);
    row("negate-string-refused", u"-'a'"_s, u"!query_type"_s);
    row("not-int-refused", u"!1"_s, u"!query_type"_s);
    row("null-arithmetic-refused", u"null + 1"_s, u"!query_type"_s);
    row("nullable-field-arithmetic-runtime", u"attributes.exitCode + 1"_s, u"!query_type"_s,
        u"step"_s);
    row("field-arithmetic", u"attributes.capacity - attributes.activeSteps"_s, u"3"_s);
}

void tst_QueryEvaluator::arithmetic()
{
    check();
}

void tst_QueryEvaluator::comparisons_data()
{
    addColumns();
    row("int-equal", u"1 == 1"_s, u"true"_s);
    row("int-not-equal", u"1 != 2"_s, u"true"_s);
    row("int-less", u"1 < 2"_s, u"true"_s);
    row("int-less-equal", u"2 <= 2"_s, u"true"_s);
    row("int-greater", u"1 > 2"_s, u"false"_s);
    row("int-greater-equal", u"1 >= 2"_s, u"false"_s);
    row("int-double-equal", u"1 == 1.0"_s, u"true"_s);
    row("int-double-less", u"1 < 1.5"_s, u"true"_s);
    row("double-int-greater", u"1.5 > 1"_s, u"true"_s);
    row("int-double-exact-large", u"9007199254740993 > 9007199254740992.0"_s, u"true"_s);
    row("int-double-max", u"9223372036854775807 < 9223372036854775808.0"_s, u"true"_s);
    row("int-min-double", u"-9223372036854775808 <= -9223372036854775808.0"_s, u"true"_s);
    row("negative-int-double", u"-2 < -1.5"_s, u"true"_s);
    row("string-less", u"'abc' < 'abd'"_s, u"true"_s);
    row("string-prefix-less", u"'ab' < 'abc'"_s, u"true"_s);
    row("bool-less", u"false < true"_s, u"true"_s);
    row("string-int-less-refused", u"'a' < 1"_s, u"!query_type"_s);
    row("string-int-equal-refused", u"'a' == 1"_s, u"!query_type"_s);
    row("null-equal-null", u"null == null"_s, u"true"_s);
    row("null-not-equal-int", u"null != 1"_s, u"true"_s);
    row("null-less-refused", u"null < 1"_s, u"!query_type"_s);
    row("list-equal", u"[1, 2] == [1, 2]"_s, u"true"_s);
    row("list-equal-numeric", u"[1, 2] == [1.0, 2]"_s, u"true"_s);
    row("list-not-equal-length", u"[1, 2] == [1]"_s, u"false"_s);
    row("list-equal-heterogeneous", u"[1, 'a'] == ['a', 1]"_s, u"false"_s);
    row("map-equal", u"{'a': 1, 'b': 2} == {'b': 2, 'a': 1}"_s, u"true"_s);
    row("map-not-equal", u"{'a': 1} == {'a': 2}"_s, u"false"_s);
    row("map-equal-record-map",
        u"attributes.labels == {'region': 'eu', 'os': 'linux', 'größe': 'groß'}"_s, u"true"_s);
    row("list-less-refused", u"[1] < [2]"_s, u"!query_type"_s);
    row("chained-comparison-refused", u"1 < 2 < 3"_s, u"!query_type"_s);
    row("in-list", u"2 in [1, 2, 3]"_s, u"true"_s);
    row("in-list-missing", u"4 in [1, 2, 3]"_s, u"false"_s);
    row("in-list-numeric", u"2.0 in [1, 2, 3]"_s, u"true"_s);
    row("in-list-heterogeneous", u"'2' in [1, 2]"_s, u"false"_s);
    row("in-map-key", u"'region' in attributes.labels"_s, u"true"_s);
    row("in-map-missing-key", u"'zone' in attributes.labels"_s, u"false"_s);
    row("in-string-refused", u"'a' in 'abc'"_s, u"!query_type"_s);
    row("in-precedence", u"1 + 1 in [2]"_s, u"true"_s);
    row("equal-precedence-over-and", u"1 == 1 && 2 == 2"_s, u"true"_s);
    row("relations-left-associative", u"1 == 1 == true"_s, u"true"_s);
    row("double-zero-less", u"0.0 / 1.0 < 1.0"_s, u"true"_s);
    row("timestamp-equal", u"timestamp('2026-11-24T10:00:00Z') == now"_s, u"true"_s);
    row("timestamp-offset-equal", u"timestamp('2026-11-24T11:00:00+01:00') == now"_s, u"true"_s);
    row("duration-less", u"duration('1m') < duration('61s')"_s, u"true"_s);
    row("timestamp-duration-less-refused", u"now < duration('1m')"_s, u"!query_type"_s);
    row("timestamp-string-less-refused", u"now < '2026-01-01T00:00:00Z'"_s, u"!query_type"_s);
}

void tst_QueryEvaluator::comparisons()
{
    check();
}

void tst_QueryEvaluator::logic_data()
{
    addColumns();
    row("and-true", u"true && true"_s, u"true"_s);
    row("and-false", u"true && false"_s, u"false"_s);
    row("or-true", u"false || true"_s, u"true"_s);
    row("or-false", u"false || false"_s, u"false"_s);
    row("not", u"!true"_s, u"false"_s);
    row("not-not", u"!!true"_s, u"true"_s);
    row("and-binds-tighter-than-or", u"true || false && false"_s, u"true"_s);
    row("and-binds-tighter-than-or-left", u"false && false || true"_s, u"true"_s);
    row("not-binds-tighter-than-and", u"!false && false"_s, u"false"_s);
    row("false-and-error", u"false && 1 / 0 == 1"_s, u"false"_s);
    row("error-and-false", u"1 / 0 == 1 && false"_s, u"false"_s);
    row("true-and-error", u"true && 1 / 0 == 1"_s, u"!query_runtime"_s);
    row("error-and-true", u"1 / 0 == 1 && true"_s, u"!query_runtime"_s);
    row("true-or-error", u"true || 1 / 0 == 1"_s, u"true"_s);
    row("error-or-true", u"1 / 0 == 1 || true"_s, u"true"_s);
    row("false-or-error", u"false || 1 / 0 == 1"_s, u"!query_runtime"_s);
    row("error-or-false", u"1 / 0 == 1 || false"_s, u"!query_runtime"_s);
    row("missing-key-and-false", u"attributes.labels.zone == 'a' && false"_s, u"false"_s);
    row("missing-key-or-true", u"attributes.labels.zone == 'a' || true"_s, u"true"_s);
    row("error-chain-and-false-last", u"1 / 0 == 1 && 2 / 0 == 1 && false"_s, u"false"_s);
    row("first-error-wins", u"attributes.labels.zone == 'a' && 1 / 0 == 1"_s, u"!query_runtime"_s);
    row("non-bool-and-false", u"attributes.labels.os && false"_s, u"false"_s);
    row("non-bool-and-true", u"attributes.labels.os && true"_s, u"!query_type"_s);
    row("and-int-refused", u"1 && true"_s, u"!query_type"_s);
    row("or-string-refused", u"false || 'a'"_s, u"!query_type"_s);
    row("ternary-true", u"true ? 1 : 2"_s, u"1"_s);
    row("ternary-false", u"false ? 1 : 2"_s, u"2"_s);
    row("ternary-right-associative", u"false ? 1 : true ? 2 : 3"_s, u"2"_s);
    row("ternary-lowest-precedence", u"1 == 2 || true ? 'y' : 'n'"_s, u"\"y\""_s);
    row("ternary-lazy-then", u"false ? 1 / 0 : 5"_s, u"5"_s);
    row("ternary-lazy-else", u"true ? 5 : 1 / 0"_s, u"5"_s);
    row("ternary-condition-int-refused", u"1 ? 2 : 3"_s, u"!query_type"_s);
    row("ternary-condition-error", u"1 / 0 == 0 ? 2 : 3"_s, u"!query_runtime"_s);
    row("ternary-nested-in-then", u"true ? (false ? 1 : 2) : 3"_s, u"2"_s);
}

void tst_QueryEvaluator::logic()
{
    check();
}

void tst_QueryEvaluator::strings_data()
{
    addColumns();
    row("size-ascii", u"size('abc')"_s, u"3"_s);
    row("size-method", u"'abc'.size()"_s, u"3"_s);
    row("size-code-points", u"size('größe')"_s, u"5"_s);
    row("size-astral", u"size('😀a')"_s, u"2"_s);
    row("size-empty", u"size('')"_s, u"0"_s);
    row("size-list", u"size([1, 2])"_s, u"2"_s);
    row("size-map", u"size(attributes.labels)"_s, u"3"_s);
    row("size-int-refused", u"size(1)"_s, u"!query_type"_s);
    row("contains", u"'hello'.contains('ell')"_s, u"true"_s);
    row("contains-not", u"'hello'.contains('elo')"_s, u"false"_s);
    row("contains-empty", u"'hello'.contains('')"_s, u"true"_s);
    row("starts-with", u"attributes.hostname.startsWith('build-')"_s, u"true"_s);
    row("starts-with-case-sensitive", u"attributes.hostname.startsWith('Build-')"_s, u"false"_s);
    row("ends-with", u"attributes.hostname.endsWith('01')"_s, u"true"_s);
    row("ends-with-unicode", u"attributes.labels['größe'].endsWith('ß')"_s, u"true"_s);
    row("matches-method", u"attributes.hostname.matches('^build-[0-9]+$')"_s, u"true"_s);
    row("matches-partial", u"'abc123'.matches('[0-9]')"_s, u"true"_s);
    row("matches-function", u"matches('abc', '^a.c$')"_s, u"true"_s);
    row("matches-no", u"'abc'.matches('^b')"_s, u"false"_s);
    row("matches-unicode", u"'größe'.matches('^gr.ße$')"_s, u"true"_s);
    row("matches-bad-literal-pattern", u"'a'.matches('(')"_s, u"!query_syntax"_s);
    row("matches-bad-dynamic-pattern", u"'a'.matches(attributes.labels.os + '(')"_s,
        u"!query_runtime"_s);
    row("matches-dynamic-pattern", u"'linux-1'.matches('^' + attributes.labels.os)"_s, u"true"_s);
    row("starts-with-int-refused", u"'a'.startsWith(1)"_s, u"!query_type"_s);
    row("starts-with-on-int-refused", u"attributes.capacity.startsWith('a')"_s, u"!query_type"_s);
    row("starts-with-on-null", u"attributes.error.startsWith('a')"_s, u"!query_type"_s, u"step"_s);
    row("lower-ascii", u"'ÄbC'.lowerAscii()"_s, u"\"Äbc\""_s);
    row("upper-ascii", u"'abc'.upperAscii()"_s, u"\"ABC\""_s);
    row("string-equality-unicode", u"attributes.labels['größe'] == 'gro\\u00df'"_s, u"true"_s);
    row("concat-unicode", u"'a' + '😀'"_s, u"\"a😀\""_s);
    row("string-index-refused", u"'abc'[0]"_s, u"!query_type"_s);
    row("unknown-method", u"'a'.startswith('a')"_s, u"!query_unknown_field"_s);
    row("unknown-function", u"lenght('a')"_s, u"!query_unknown_field"_s);
    row("wrong-arity", u"size('a', 'b')"_s, u"!query_type"_s);
}

void tst_QueryEvaluator::strings()
{
    check();
}

void tst_QueryEvaluator::timeValues_data()
{
    addColumns();
    row("now", u"now"_s, u"timestamp(\"2026-11-24T10:00:00.000Z\")"_s);
    row("timestamp-literal", u"timestamp('2026-11-24T10:00:00Z')"_s,
        u"timestamp(\"2026-11-24T10:00:00.000Z\")"_s);
    row("timestamp-fraction", u"timestamp('2026-11-24T10:00:00.123456Z')"_s,
        u"timestamp(\"2026-11-24T10:00:00.123Z\")"_s);
    row("timestamp-offset", u"timestamp('2026-11-24T10:00:00-05:30')"_s,
        u"timestamp(\"2026-11-24T15:30:00.000Z\")"_s);
    row("timestamp-leap-day", u"timestamp('2028-02-29T00:00:00Z')"_s,
        u"timestamp(\"2028-02-29T00:00:00.000Z\")"_s);
    row("timestamp-not-leap-day", u"timestamp('2026-02-29T00:00:00Z')"_s, u"!query_runtime"_s);
    row("timestamp-no-zone-refused", u"timestamp('2026-11-24T10:00:00')"_s, u"!query_runtime"_s);
    row("timestamp-garbage", u"timestamp('yesterday')"_s, u"!query_runtime"_s);
    row("timestamp-epoch-seconds", u"timestamp(0)"_s, u"timestamp(\"1970-01-01T00:00:00.000Z\")"_s);
    row("timestamp-before-epoch", u"timestamp('1969-12-31T23:59:59.999Z')"_s,
        u"timestamp(\"1969-12-31T23:59:59.999Z\")"_s);
    row("timestamp-min", u"timestamp('0001-01-01T00:00:00Z')"_s,
        u"timestamp(\"0001-01-01T00:00:00.000Z\")"_s);
    row("timestamp-max", u"timestamp('9999-12-31T23:59:59.999Z')"_s,
        u"timestamp(\"9999-12-31T23:59:59.999Z\")"_s);
    row("timestamp-overflow", u"timestamp('9999-12-31T23:59:59Z') + duration('1s')"_s,
        u"!query_runtime"_s);
    row("timestamp-underflow", u"timestamp('0001-01-01T00:00:00Z') - duration('1ms')"_s,
        u"!query_runtime"_s);
    row("duration-seconds", u"duration('90s')"_s, u"duration(\"90s\")"_s);
    row("duration-minutes", u"duration('5m')"_s, u"duration(\"300s\")"_s);
    row("duration-compound", u"duration('1h30m')"_s, u"duration(\"5400s\")"_s);
    row("duration-fraction", u"duration('1.5s')"_s, u"duration(\"1.5s\")"_s);
    row("duration-fraction-hours", u"duration('1.5h')"_s, u"duration(\"5400s\")"_s);
    row("duration-milliseconds", u"duration('250ms')"_s, u"duration(\"0.25s\")"_s);
    row("duration-negative", u"duration('-5m')"_s, u"duration(\"-300s\")"_s);
    row("duration-days", u"duration('7d')"_s, u"duration(\"604800s\")"_s);
    row("duration-weeks", u"duration('2w')"_s, u"duration(\"1209600s\")"_s);
    row("duration-zero", u"duration('0')"_s, u"duration(\"0s\")"_s);
    row("duration-no-unit-refused", u"duration('5')"_s, u"!query_runtime"_s);
    row("duration-bad-unit-refused", u"duration('5y')"_s, u"!query_runtime"_s);
    row("duration-empty-refused", u"duration('')"_s, u"!query_runtime"_s);
    row("duration-huge-refused", u"duration('999999999999h')"_s, u"!query_runtime"_s);
    row("timestamp-minus-timestamp", u"now - timestamp('2026-11-24T09:00:00Z')"_s,
        u"duration(\"3600s\")"_s);
    row("timestamp-minus-later-timestamp", u"timestamp('2026-11-24T09:00:00Z') - now"_s,
        u"duration(\"-3600s\")"_s);
    row("timestamp-minus-duration", u"now - duration('5m')"_s,
        u"timestamp(\"2026-11-24T09:55:00.000Z\")"_s);
    row("timestamp-plus-duration", u"now + duration('1d')"_s,
        u"timestamp(\"2026-11-25T10:00:00.000Z\")"_s);
    row("duration-plus-timestamp", u"duration('1h') + now"_s,
        u"timestamp(\"2026-11-24T11:00:00.000Z\")"_s);
    row("duration-plus-duration", u"duration('1m') + duration('30s')"_s, u"duration(\"90s\")"_s);
    row("duration-minus-duration", u"duration('1m') - duration('90s')"_s, u"duration(\"-30s\")"_s);
    row("duration-negate", u"-duration('1m')"_s, u"duration(\"-60s\")"_s);
    row("timestamp-plus-timestamp-refused", u"now + now"_s, u"!query_type"_s);
    row("duration-minus-timestamp-refused", u"duration('1m') - now"_s, u"!query_type"_s);
    row("timestamp-plus-int-refused", u"now + 5"_s, u"!query_type"_s);
    row("duration-times-int-refused", u"duration('1m') * 2"_s, u"!query_type"_s);
    row("field-is-timestamp", u"attributes.lastSeenAt"_s,
        u"timestamp(\"2026-11-24T09:50:00.000Z\")"_s);
    row("top-level-timestamp", u"createdAt < updatedAt"_s, u"true"_s);
    row("field-age", u"now - attributes.lastSeenAt"_s, u"duration(\"600s\")"_s);
    row("field-older-than", u"attributes.lastSeenAt < now - duration('5m')"_s, u"true"_s);
    row("field-newer-than", u"attributes.lastSeenAt > now - duration('15m')"_s, u"true"_s);
    row("null-timestamp-field", u"attributes.disconnectedAt"_s, u"null"_s);
    row("null-timestamp-compare-null", u"attributes.disconnectedAt == null"_s, u"true"_s);
    row("null-timestamp-less-runtime", u"attributes.disconnectedAt < now"_s, u"!query_type"_s);
    row("timestamp-field-millis", u"attributes.startedAt"_s,
        u"timestamp(\"2026-11-24T09:00:30.500Z\")"_s, u"step"_s);
    row("get-full-year", u"now.getFullYear()"_s, u"2026"_s);
    row("get-month-zero-based", u"now.getMonth()"_s, u"10"_s);
    row("get-date", u"now.getDate()"_s, u"24"_s);
    row("get-day-of-month-zero-based", u"now.getDayOfMonth()"_s, u"23"_s);
    row("get-day-of-week", u"now.getDayOfWeek()"_s, u"2"_s);
    row("get-day-of-year", u"timestamp('2026-02-01T00:00:00Z').getDayOfYear()"_s, u"31"_s);
    row("get-hours", u"now.getHours()"_s, u"10"_s);
    row("get-minutes-of-duration", u"duration('90m').getMinutes()"_s, u"90"_s);
    row("get-seconds-of-duration", u"duration('1h').getSeconds()"_s, u"3600"_s);
    row("get-milliseconds", u"attributes.startedAt.getMilliseconds()"_s, u"500"_s, u"step"_s);
    row("get-day-of-week-before-epoch", u"timestamp('1969-12-31T00:00:00Z').getDayOfWeek()"_s,
        u"3"_s);
}

void tst_QueryEvaluator::timeValues()
{
    check();
}

void tst_QueryEvaluator::fields_data()
{
    addColumns();
    row("model-type", u"modelType"_s, u"\"swamp/worker\""_s);
    row("name", u"name"_s, u"\"ci-linux-1\""_s);
    row("id", u"id"_s, u"\"wrk_1\""_s);
    row("attribute", u"attributes.status"_s, u"\"idle\""_s);
    row("attribute-index", u"attributes['status']"_s, u"\"idle\""_s);
    row("attribute-int", u"attributes.capacity"_s, u"4"_s);
    row("attribute-bool", u"attributes.draining"_s, u"false"_s);
    row("label", u"attributes.labels.region"_s, u"\"eu\""_s);
    row("label-index", u"attributes.labels['region']"_s, u"\"eu\""_s);
    row("label-unicode-key", u"attributes.labels['größe']"_s, u"\"groß\""_s);
    row("missing-label", u"attributes.labels.zone"_s, u"!query_runtime"_s);
    row("missing-label-index", u"attributes.labels['zone']"_s, u"!query_runtime"_s);
    row("has-label", u"has(attributes.labels.region)"_s, u"true"_s);
    row("has-missing-label", u"has(attributes.labels.zone)"_s, u"false"_s);
    row("has-guards", u"has(attributes.labels.zone) && attributes.labels.zone == 'a'"_s,
        u"false"_s);
    row("has-null-field", u"has(attributes.disconnectedAt)"_s, u"true"_s);
    row("has-on-string-refused", u"has(attributes.status.x)"_s, u"!query_type"_s);
    row("has-index-refused", u"has(attributes['status'])"_s, u"!query_syntax"_s);
    row("has-two-args-refused", u"has(attributes.status, 1)"_s, u"!query_syntax"_s);
    row("field-of-other-model-missing", u"attributes.state"_s, u"!query_runtime"_s);
    row("null-attribute", u"attributes.exitCode"_s, u"null"_s, u"step"_s);
    row("null-equals-null", u"attributes.exitCode == null"_s, u"true"_s, u"step"_s);
    row("select-of-null", u"attributes.target.x"_s, u"!query_type"_s, u"step"_s);
    row("list-attribute", u"attributes.command"_s, u"[\"make\", \"test\"]"_s, u"step"_s);
    row("list-index", u"attributes.command[1]"_s, u"\"test\""_s, u"step"_s);
    row("list-index-out-of-range", u"attributes.command[2]"_s, u"!query_runtime"_s, u"step"_s);
    row("list-index-negative", u"attributes.command[-1]"_s, u"!query_runtime"_s, u"step"_s);
    row("list-index-string-refused", u"attributes.command['a']"_s, u"!query_type"_s, u"step"_s);
    row("binding-field", u"attributes.bindings[1].workerName"_s, u"\"ci-mac-1\""_s, u"token"_s);
    row("in-list-attribute", u"'make' in attributes.command"_s, u"true"_s, u"step"_s);
    row("missing-record-field", u"name"_s, u"!query_runtime"_s, u"none"_s);
    row("map-literal-select", u"{'a': {'b': 1}}.a.b"_s, u"1"_s);
    row("map-literal-index", u"{'a': 1}['a']"_s, u"1"_s);
    row("list-literal-index", u"[1, 2, 3][2]"_s, u"3"_s);
    row("int-select-refused", u"attributes.capacity.x"_s, u"!query_type"_s);
    row("attributes-map", u"size(attributes)"_s, u"16"_s);
    row("record-field-int-from-json", u"attributes.maxEnrollments == null"_s, u"true"_s,
        u"token"_s);
}

void tst_QueryEvaluator::fields()
{
    check();
}

void tst_QueryEvaluator::macros_data()
{
    addColumns();
    row("exists", u"[1, 2, 3].exists(x, x > 2)"_s, u"true"_s);
    row("exists-none", u"[1, 2, 3].exists(x, x > 3)"_s, u"false"_s);
    row("exists-empty", u"[].exists(x, x > 3)"_s, u"false"_s);
    row("all", u"[1, 2, 3].all(x, x > 0)"_s, u"true"_s);
    row("all-not", u"[1, 2, 3].all(x, x > 1)"_s, u"false"_s);
    row("all-empty", u"[].all(x, false)"_s, u"true"_s);
    row("exists-one", u"[1, 2, 3].exists_one(x, x == 2)"_s, u"true"_s);
    row("exists-one-two", u"[1, 2, 2].exists_one(x, x == 2)"_s, u"false"_s);
    row("map", u"[1, 2, 3].map(x, x * 2)"_s, u"[2, 4, 6]"_s);
    row("map-filter-form", u"[1, 2, 3].map(x, x > 1, x * 10)"_s, u"[20, 30]"_s);
    row("filter", u"[1, 2, 3, 4].filter(x, x % 2 == 0)"_s, u"[2, 4]"_s);
    row("exists-absorbs-error", u"[0, 1].exists(x, 1 / x == 1)"_s, u"true"_s);
    row("exists-error-when-no-true", u"[0, 2].exists(x, 1 / x == 1)"_s, u"!query_runtime"_s);
    row("all-absorbs-error", u"[0, 1].all(x, 1 / x == 5)"_s, u"false"_s);
    row("all-error-when-no-false", u"[0, 1].all(x, 1 / x == 1)"_s, u"!query_runtime"_s);
    row("exists-one-propagates-error", u"[0, 1].exists_one(x, 1 / x == 1)"_s, u"!query_runtime"_s);
    row("map-propagates-error", u"[0, 1].map(x, 1 / x)"_s, u"!query_runtime"_s);
    row("filter-non-bool", u"[1].filter(x, x)"_s, u"!query_type"_s);
    row("exists-non-bool-literal-refused", u"[1].exists(x, 1)"_s, u"!query_type"_s);
    row("exists-on-int-refused", u"1.exists(x, true)"_s, u"!query_type"_s);
    row("exists-over-map-keys", u"attributes.labels.exists(k, k == 'os')"_s, u"true"_s);
    row("map-over-map-keys", u"{'b': 1, 'a': 2}.map(k, k)"_s, u"[\"a\", \"b\"]"_s);
    row("nested", u"[[1, 2], [3]].map(l, l.map(x, x + 1))"_s, u"[[2, 3], [4]]"_s);
    row("nested-outer-variable", u"[1, 2].map(x, [10, 20].map(y, x + y))"_s,
        u"[[11, 21], [12, 22]]"_s);
    row("shadowing", u"[1].map(x, [2].map(x, x))"_s, u"[[2]]"_s);
    row("variable-out-of-scope", u"[1].map(x, x) == [x]"_s, u"!query_unknown_field"_s);
    row("variable-not-identifier", u"[1].map(1, 1)"_s, u"!query_syntax"_s);
    row("bindings-exists", u"attributes.bindings.exists(b, b.workerName == 'ci-mac-1')"_s,
        u"true"_s, u"token"_s);
    row("bindings-map", u"attributes.bindings.map(b, b.machineId)"_s, u"[\"m1\", \"m2\"]"_s,
        u"token"_s);
    row("bindings-filter-size",
        u"size(attributes.bindings.filter(b, b.workerName.startsWith('ci-')))"_s, u"2"_s,
        u"token"_s);
    row("bindings-timestamp", u"attributes.bindings.all(b, timestamp(b.enrolledAt) < now)"_s,
        u"true"_s, u"token"_s);
    row("labels-all", u"attributes.labels.all(k, size(attributes.labels[k]) > 1)"_s, u"true"_s);
    row("command-exists", u"attributes.command.exists(c, c == 'test')"_s, u"true"_s, u"step"_s);
    row("macro-arity", u"[1].exists(x)"_s, u"!query_syntax"_s);
    row("map-macro-arity", u"[1].map(x)"_s, u"!query_syntax"_s);
}

void tst_QueryEvaluator::macros()
{
    check();
}

void tst_QueryEvaluator::conversions_data()
{
    addColumns();
    row("string-of-int", u"string(42)"_s, u"\"42\""_s);
    row("string-of-negative-int", u"string(-9223372036854775808)"_s, u"\"-9223372036854775808\""_s);
    row("string-of-double", u"string(1.5)"_s, u"\"1.5\""_s);
    row("string-of-whole-double", u"string(2.0)"_s, u"\"2\""_s);
    row("string-of-bool", u"string(true)"_s, u"\"true\""_s);
    row("string-of-string", u"string('a')"_s, u"\"a\""_s);
    row("string-of-timestamp", u"string(now)"_s, u"\"2026-11-24T10:00:00.000Z\""_s);
    row("string-of-duration", u"string(duration('90s'))"_s, u"\"90s\""_s);
    row("string-of-null-refused", u"string(null)"_s, u"!query_type"_s);
    row("string-of-list-refused", u"string([1])"_s, u"!query_type"_s);
    row("int-of-string", u"int('42')"_s, u"42"_s);
    row("int-of-negative-string", u"int('-42')"_s, u"-42"_s);
    row("int-of-bad-string", u"int('4x')"_s, u"!query_runtime"_s);
    row("int-of-spaced-string", u"int(' 4')"_s, u"!query_runtime"_s);
    row("int-of-huge-string", u"int('9223372036854775808')"_s, u"!query_runtime"_s);
    row("int-of-double-truncates", u"int(2.9)"_s, u"2"_s);
    row("int-of-negative-double-truncates", u"int(-2.9)"_s, u"-2"_s);
    row("int-of-huge-double", u"int(1e19)"_s, u"!query_runtime"_s);
    row("int-of-min-double", u"int(-9223372036854775808.0)"_s, u"-9223372036854775808"_s);
    row("int-of-two-to-63", u"int(9223372036854775808.0)"_s, u"!query_runtime"_s);
    row("int-of-timestamp", u"int(timestamp('1970-01-01T00:01:00Z'))"_s, u"60"_s);
    row("int-of-bool-refused", u"int(true)"_s, u"!query_type"_s);
    row("double-of-int", u"double(2)"_s, u"2.0"_s);
    row("double-of-string", u"double('2.5')"_s, u"2.5"_s);
    row("double-of-bad-string", u"double('x')"_s, u"!query_runtime"_s);
    row("double-enables-mixing", u"double(attributes.activeSteps) / double(attributes.capacity)"_s,
        u"0.25"_s);
    row("bool-of-string", u"bool('true')"_s, u"true"_s);
    row("bool-of-bad-string", u"bool('yes')"_s, u"!query_runtime"_s);
    row("timestamp-of-timestamp", u"timestamp(now) == now"_s, u"true"_s);
    row("duration-of-duration", u"duration(duration('1m'))"_s, u"duration(\"60s\")"_s);
    row("duration-of-int-refused", u"duration(60)"_s, u"!query_type"_s);
    row("int-of-field", u"int(attributes.labels.os == 'linux')"_s, u"!query_type"_s);
}

void tst_QueryEvaluator::conversions()
{
    check();
}

void tst_QueryEvaluator::specExamples_data()
{
    addColumns();
    const QString workerType = u"modelType == \"swamp/worker\""_s;
    const QString tokenType = u"modelType == \"swamp/enrollment-token\""_s;
    const QString leaseType = u"modelType == \"swamp/step-lease\""_s;
    const QString idle = u"modelType == \"swamp/worker\" && attributes.status == \"idle\""_s;
    const QString stale = u"modelType == \"swamp/worker\" && attributes.labels.region == \"eu\" "
                          "&& attributes.lastSeenAt < now - duration(\"5m\")"_s;
    const QString activeCi = u"modelType == \"swamp/step-lease\" && attributes.state == \"active\" "
                             "&& attributes.workerName.startsWith(\"ci-\")"_s;
    const char *models[] = {"worker", "token", "step", "lease", "run"};
    for (const char *model : models) {
        const QString m = QString::fromLatin1(model);
        QTest::addRow("worker-type-on-%s", model)
            << workerType << m << (m == u"worker" ? u"true"_s : u"false"_s);
        QTest::addRow("token-type-on-%s", model)
            << tokenType << m << (m == u"token" ? u"true"_s : u"false"_s);
        QTest::addRow("lease-type-on-%s", model)
            << leaseType << m << (m == u"lease" ? u"true"_s : u"false"_s);
        QTest::addRow("idle-on-%s", model)
            << idle << m << (m == u"worker" ? u"true"_s : u"false"_s);
        QTest::addRow("stale-eu-on-%s", model)
            << stale << m << (m == u"worker" ? u"true"_s : u"false"_s);
        QTest::addRow("active-ci-lease-on-%s", model)
            << activeCi << m << (m == u"lease" ? u"true"_s : u"false"_s);
    }
    row("stale-eu-not-stale-enough",
        u"modelType == \"swamp/worker\" && attributes.labels.region == \"eu\" "
        "&& attributes.lastSeenAt < now - duration(\"15m\")"_s,
        u"false"_s);
    row("stale-eu-other-region",
        u"modelType == \"swamp/worker\" && attributes.labels.region == \"us\" "
        "&& attributes.lastSeenAt < now - duration(\"5m\")"_s,
        u"false"_s);
    row("busy-is-not-idle", u"modelType == \"swamp/worker\" && attributes.status == \"busy\""_s,
        u"false"_s);
    row("lease-not-ci",
        u"modelType == \"swamp/step-lease\" && attributes.state == \"active\" "
        "&& attributes.workerName.startsWith(\"mac-\")"_s,
        u"false"_s, u"lease"_s);
    row("model-type-in",
        u"modelType in ['swamp/step', 'swamp/step-lease'] && attributes.state == 'running'"_s,
        u"true"_s, u"step"_s);
    row("unlimited-tokens",
        u"modelType == 'swamp/enrollment-token' && attributes.maxEnrollments == null"_s, u"true"_s,
        u"token"_s);
    row("expiring-tokens",
        u"modelType == 'swamp/enrollment-token' && attributes.expiresAt < now + duration('6d')"_s,
        u"false"_s, u"token"_s);
    row("expiring-tokens-longer",
        u"modelType == 'swamp/enrollment-token' && attributes.expiresAt < now + duration('7d')"_s,
        u"true"_s, u"token"_s);
    row("spare-capacity",
        u"modelType == 'swamp/worker' && attributes.activeSteps < attributes.capacity"_s,
        u"true"_s);
    row("steps-left-running-long",
        u"modelType == 'swamp/step' && attributes.state == 'running' "
        "&& now - attributes.startedAt > duration('30m')"_s,
        u"true"_s, u"step"_s);
}

void tst_QueryEvaluator::specExamples()
{
    check();
}

void tst_QueryEvaluator::matchesResult_data()
{
    QTest::addColumn<QString>("predicate");
    QTest::addColumn<QString>("record");
    QTest::addColumn<int>("expected"); // 1 true, 0 false, -1 error
    QTest::addColumn<QString>("code");
    QTest::addRow("true") << u"attributes.status == 'idle'"_s << u"worker"_s << 1 << QString();
    QTest::addRow("false") << u"attributes.status == 'busy'"_s << u"worker"_s << 0 << QString();
    QTest::addRow("non-bool-is-error")
        << u"attributes.status"_s << u"worker"_s << -1 << u"query_type"_s;
    QTest::addRow("null-is-error")
        << u"attributes.disconnectedAt"_s << u"worker"_s << -1 << u"query_type"_s;
    QTest::addRow("missing-key-is-error")
        << u"attributes.labels.zone == 'a'"_s << u"worker"_s << -1 << u"query_runtime"_s;
    QTest::addRow("guarded-by-model-type")
        << u"modelType == 'swamp/step' && attributes.exitCode == 0"_s << u"worker"_s << 0
        << QString();
}

void tst_QueryEvaluator::matchesResult()
{
    QFETCH(QString, predicate);
    QFETCH(QString, record);
    QFETCH(int, expected);
    QFETCH(QString, code);
    const auto compiled = Predicate::compile(predicate);
    QVERIFY_RESULT(compiled);
    const Swamp::Result<bool> result =
        compiled->matches(QueryFixtures::record(record), QueryFixtures::now());
    if (expected < 0) {
        QVERIFY(!result);
        QCOMPARE(result.error().code, code);
    } else {
        QVERIFY_RESULT(result);
        QCOMPARE(*result, expected == 1);
    }
}

void tst_QueryEvaluator::budget_data()
{
    QTest::addColumn<QString>("predicate");
    QTest::addColumn<QString>("code");
    const QString ten = u"[0,1,2,3,4,5,6,7,8,9]"_s;
    QTest::addRow("nested-macros-within-budget")
        << u"%1.all(a, %1.all(b, %1.all(c, a + b + c >= 0)))"_s.arg(ten) << QString();
    QTest::addRow("nested-macros-over-budget")
        << u"%1.all(a, %1.all(b, %1.all(c, %1.all(d, %1.all(e, a + b + c + d + e >= 0)))))"_s.arg(
               ten)
        << u"query_budget"_s;
    QTest::addRow("budget-not-absorbed-by-and")
        << u"%1.all(a, %1.all(b, %1.all(c, %1.all(d, %1.all(e, true))))) && false"_s.arg(ten)
        << u"query_budget"_s;
    QTest::addRow("budget-not-absorbed-by-exists")
        << u"%1.exists(a, %1.all(b, %1.all(c, %1.all(d, %1.all(e, true)))) && false)"_s.arg(ten)
        << u"query_budget"_s;
    QTest::addRow("string-doubling-over-budget")
        << u"['aaaaaaaaaaaaaaaa'].map(a, [a+a+a+a+a+a+a+a].map(b, [b+b+b+b+b+b+b+b].map(c, "
           "[c+c+c+c+c+c+c+c].map(d, [d+d+d+d+d+d+d+d].map(e, size(e+e+e+e))))))"_s
        << u"query_budget"_s;
    QTest::addRow("list-doubling-over-budget")
        << u"[%1].map(a, [a+a+a+a+a+a+a+a].map(b, [b+b+b+b+b+b+b+b].map(c, "
           "[c+c+c+c+c+c+c+c].map(d, [d+d+d+d+d+d+d+d].map(e, size(e+e))))))"_s.arg(ten)
        << u"query_budget"_s;
}

void tst_QueryEvaluator::budget()
{
    QFETCH(QString, predicate);
    QFETCH(QString, code);
    const auto compiled = Predicate::compile(predicate);
    QVERIFY_RESULT(compiled);
    const auto result = compiled->evaluate(QueryFixtures::worker(), QueryFixtures::now());
    if (code.isEmpty()) {
        QVERIFY_RESULT(result);
    } else {
        QVERIFY(!result);
        QCOMPARE(result.error().code, code);
    }
}

void tst_QueryEvaluator::evaluateJson_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("json");
    QTest::addRow("string") << u"name"_s << u"[\"ci-linux-1\"]"_s;
    QTest::addRow("int") << u"attributes.capacity"_s << u"[4]"_s;
    QTest::addRow("double") << u"2.5"_s << u"[2.5]"_s;
    QTest::addRow("bool") << u"attributes.draining"_s << u"[false]"_s;
    QTest::addRow("null") << u"attributes.disconnectedAt"_s << u"[null]"_s;
    QTest::addRow("timestamp-as-iso")
        << u"attributes.lastSeenAt"_s << u"[\"2026-11-24T09:50:00.000Z\"]"_s;
    QTest::addRow("duration-as-seconds") << u"now - attributes.lastSeenAt"_s << u"[\"600s\"]"_s;
    QTest::addRow("duration-fraction") << u"duration('1500ms')"_s << u"[\"1.5s\"]"_s;
    QTest::addRow("list") << u"[1, 'a', now]"_s << u"[[1,\"a\",\"2026-11-24T10:00:00.000Z\"]]"_s;
    QTest::addRow("map-literal") << u"{'name': name, 'age': now - attributes.lastSeenAt}"_s
                                 << u"[{\"age\":\"600s\",\"name\":\"ci-linux-1\"}]"_s;
    QTest::addRow("record-map") << u"attributes.labels"_s
                                << u"[{\"größe\":\"groß\",\"os\":\"linux\",\"region\":\"eu\"}]"_s;
    QTest::addRow("int-min") << u"-9223372036854775808"_s << u"[-9223372036854775808]"_s;
}

void tst_QueryEvaluator::evaluateJson()
{
    QFETCH(QString, expression);
    QFETCH(QString, json);
    const auto compiled = Predicate::compile(expression);
    QVERIFY_RESULT(compiled);
    const auto value = compiled->evaluate(QueryFixtures::worker(), QueryFixtures::now());
    QVERIFY_RESULT(value);
    QCOMPARE(QString::fromUtf8(QJsonDocument(QJsonArray{*value}).toJson(QJsonDocument::Compact)),
             json);
}

void tst_QueryEvaluator::runtimeErrorPosition()
{
    const QString predicate = u"modelType == 'swamp/worker' && attributes.labels.zone == 'a'"_s;
    const auto compiled = Predicate::compile(predicate);
    QVERIFY_RESULT(compiled);
    const auto result = compiled->matches(QueryFixtures::worker(), QueryFixtures::now());
    QVERIFY(!result);
    QCOMPARE(result.error().code, u"query_runtime"_s);
    QCOMPARE(result.error().message, u"no such key \"zone\" in attributes.labels"_s);
    QCOMPARE(result.error().fix, u"guard it with has(attributes.labels.zone)"_s);
    QCOMPARE(result.error().details.value(u"position").toInteger(), predicate.indexOf(u"zone"));
    QCOMPARE(result.error().details.value(u"length").toInteger(), 4);
}

void tst_QueryEvaluator::copiesShareProgram()
{
    auto compiled = Predicate::compile(u"attributes.status == 'idle'"_s);
    QVERIFY_RESULT(compiled);
    const Predicate copy = *compiled;
    const Predicate moved = std::move(*compiled);
    QCOMPARE(copy.matches(QueryFixtures::worker(), QueryFixtures::now()).value(), true);
    QCOMPARE(moved.matches(QueryFixtures::worker(), QueryFixtures::now()).value(), true);
    QCOMPARE(copy.text(), u"attributes.status == 'idle'"_s);
    QCOMPARE(copy.resultType(), FieldType::Bool);
}

QTEST_GUILESS_MAIN(tst_QueryEvaluator)
#include "tst_query_evaluator.moc"
