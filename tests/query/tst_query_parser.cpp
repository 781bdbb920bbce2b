#include "queryfixtures.h"

#include "query/lexer_p.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp::Query;

class tst_QueryParser : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void tokens_data();
    void tokens();
    void structure_data();
    void structure();
    void syntaxErrors_data();
    void syntaxErrors();
    void unknownNames_data();
    void unknownNames();
    void typeErrors_data();
    void typeErrors();
    void limits_data();
    void limits();
    void modelTypeHints_data();
    void modelTypeHints();
    void equalityHints_data();
    void equalityHints();
    void customSchema();
    void schemaLookups();
};

void tst_QueryParser::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

// Token kinds by name, to compare whole token streams.
static QString tokenName(const Internal::Token &token)
{
    using Internal::TokenKind;
    switch (token.kind) {
    case TokenKind::Identifier:
        return u"id:"_s + token.text;
    case TokenKind::Int:
        return u"int:"_s + QString::number(token.intValue);
    case TokenKind::Double:
        return u"double:"_s + QueryFixtures::describeDouble(token.doubleValue);
    case TokenKind::String:
        return u"str:"_s + token.text;
    default:
        return Internal::tokenDescription(token).remove(u'"');
    }
}

void tst_QueryParser::tokens_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected"); // names joined by ' ', positions as @n

    QTest::addRow("operators")
        << u"== != < <= > >= && || ! - + * / % ? : . , ( ) [ ] { }"_s
        << u"== != < <= > >= && || ! - + * / % ? : . , ( ) [ ] { } end of predicate"_s;
    QTest::addRow("no-spaces") << u"a.b==1&&!c"_s
                               << u"id:a . id:b == int:1 && ! id:c end of predicate"_s;
    QTest::addRow("keywords") << u"true false null in"_s
                              << u"true false null in end of predicate"_s;
    QTest::addRow("keyword-prefix-identifier")
        << u"inside nullable"_s << u"id:inside id:nullable end of predicate"_s;
    QTest::addRow("identifier-underscore") << u"_a1 b_2"_s << u"id:_a1 id:b_2 end of predicate"_s;
    QTest::addRow("numbers")
        << u"0 12 0x1f 1.5 1e2 .25"_s
        << u"int:0 int:12 int:31 double:1.5 double:100.0 double:0.25 end of predicate"_s;
    QTest::addRow("int-dot-method") << u"1.size"_s << u"int:1 . id:size end of predicate"_s;
    QTest::addRow("exponent-without-digits") << u"1e"_s << u"!query_syntax"_s;
    QTest::addRow("strings") << u"'a' \"b\" r'\\n' '''c'''"_s
                             << u"str:a str:b str:\\n str:c end of predicate"_s;
    QTest::addRow("comment-to-end") << u"a // b c"_s << u"id:a end of predicate"_s;
    QTest::addRow("single-equals") << u"a = 1"_s << u"!query_syntax"_s;
    QTest::addRow("single-ampersand") << u"a & b"_s << u"!query_syntax"_s;
    QTest::addRow("single-pipe") << u"a | b"_s << u"!query_syntax"_s;
    QTest::addRow("unknown-character") << u"a # b"_s << u"!query_syntax"_s;
    QTest::addRow("reserved-word") << u"if"_s << u"!query_syntax"_s;
    QTest::addRow("non-ascii-identifier") << u"größe"_s << u"!query_syntax"_s;
    QTest::addRow("empty") << QString() << u"end of predicate"_s;
}

void tst_QueryParser::tokens()
{
    QFETCH(QString, text);
    QFETCH(QString, expected);
    const auto tokens = Internal::tokenize(text);
    if (expected.startsWith(u'!')) {
        QVERIFY(!tokens);
        QCOMPARE(u'!' + tokens.error().code, expected);
        return;
    }
    QVERIFY_RESULT(tokens);
    QStringList names;
    for (const Internal::Token &token : *tokens)
        names << tokenName(token);
    QCOMPARE(names.join(u' '), expected);
}

// The tree as an s-expression, to test precedence and associativity.
static QString dump(const Internal::Node &node)
{
    using Internal::NodeKind;
    QStringList parts;
    for (const auto &child : node.children)
        parts << dump(*child);
    switch (node.kind) {
    case NodeKind::Literal:
        return QueryFixtures::describe(node.literal);
    case NodeKind::Identifier:
        return node.name;
    case NodeKind::Select:
        return u"%1.%2"_s.arg(parts.at(0), node.name);
    case NodeKind::Index:
        return u"%1[%2]"_s.arg(parts.at(0), parts.at(1));
    case NodeKind::Call:
        if (node.isMethod) {
            const QString target = parts.takeFirst();
            return u"%1.%2(%3)"_s.arg(target, node.name, parts.join(u", "));
        }
        return u"%1(%2)"_s.arg(node.name, parts.join(u", "));
    case NodeKind::Has:
        return u"has(%1)"_s.arg(parts.at(0));
    case NodeKind::Comprehension: {
        const QString target = parts.takeFirst();
        return u"%1.%2(%3: %4)"_s.arg(target, node.name, node.literal.string(), parts.join(u", "));
    }
    case NodeKind::ListLiteral:
        return u"[%1]"_s.arg(parts.join(u", "));
    case NodeKind::MapLiteral: {
        QStringList entries;
        for (qsizetype i = 0; i + 1 < parts.size(); i += 2)
            entries << parts.at(i) + u": " + parts.at(i + 1);
        return u"{%1}"_s.arg(entries.join(u", "));
    }
    case NodeKind::Unary:
        return u"(%1%2)"_s.arg(Internal::opSpelling(node.op), parts.at(0));
    case NodeKind::Binary:
        return u"(%1 %2 %3)"_s.arg(parts.at(0), Internal::opSpelling(node.op), parts.at(1));
    case NodeKind::And:
        return u"(&& %1)"_s.arg(parts.join(u' '));
    case NodeKind::Or:
        return u"(|| %1)"_s.arg(parts.join(u' '));
    case NodeKind::Conditional:
        return u"(%1 ? %2 : %3)"_s.arg(parts.at(0), parts.at(1), parts.at(2));
    }
    return {};
}

void tst_QueryParser::structure_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");
    const auto row = [](const char *name, const QString &text, const QString &expected) {
        QTest::addRow("%s", name) << text << expected;
    };
    row("multiply-before-add", u"a + b * c"_s, u"(a + (b * c))"_s);
    row("add-left-assoc", u"a - b + c"_s, u"((a - b) + c)"_s);
    row("multiply-left-assoc", u"a / b * c % d"_s, u"(((a / b) * c) % d)"_s);
    row("add-before-compare", u"a + 1 < b - 1"_s, u"((a + 1) < (b - 1))"_s);
    row("compare-left-assoc", u"a < b == c"_s, u"((a < b) == c)"_s);
    row("in-same-level-as-equal", u"a in b == c"_s, u"((a in b) == c)"_s);
    row("compare-before-and", u"a == 1 && b != 2"_s, u"(&& (a == 1) (b != 2))"_s);
    row("and-before-or", u"a || b && c || d"_s, u"(|| a (&& b c) d)"_s);
    row("and-chain-flat", u"a && b && c && d"_s, u"(&& a b c d)"_s);
    row("or-before-ternary", u"a || b ? c : d"_s, u"((|| a b) ? c : d)"_s);
    row("ternary-right-assoc", u"a ? b : c ? d : e"_s, u"(a ? b : (c ? d : e))"_s);
    row("ternary-in-then", u"a ? (b ? c : d) : e"_s, u"(a ? (b ? c : d) : e)"_s);
    row("parentheses", u"(a || b) && c"_s, u"(&& (|| a b) c)"_s);
    row("unary-not", u"!a && b"_s, u"(&& (!a) b)"_s);
    row("unary-not-not", u"!!a"_s, u"(!(!a))"_s);
    row("unary-minus-before-multiply", u"-a * b"_s, u"((-a) * b)"_s);
    row("negative-literal-folded", u"-1"_s, u"-1"_s);
    row("negative-literal-method-not-folded", u"-1.size()"_s, u"(-1.size())"_s);
    row("minus-minus-literal", u"--1"_s, u"(--1)"_s);
    row("binary-minus-literal", u"a-1"_s, u"(a - 1)"_s);
    row("member-binds-tightest", u"!a.b"_s, u"(!a.b)"_s);
    row("select-chain", u"a.b.c"_s, u"a.b.c"_s);
    row("index-chain", u"a['b'][0]"_s, u"a[\"b\"][0]"_s);
    row("method-call", u"a.b.startsWith('x')"_s, u"a.b.startsWith(\"x\")"_s);
    row("global-call", u"size(a)"_s, u"size(a)"_s);
    row("call-no-args", u"a.size()"_s, u"a.size()"_s);
    row("has-macro", u"has(a.b)"_s, u"has(a.b)"_s);
    row("exists-macro", u"l.exists(x, x > 1)"_s, u"l.exists(x: (x > 1))"_s);
    row("map-macro-three", u"l.map(x, x > 1, x * 2)"_s, u"l.map(x: (x > 1), (x * 2))"_s);
    row("list", u"[1, a, 'b']"_s, u"[1, a, \"b\"]"_s);
    row("map", u"{'a': 1, b: c}"_s, u"{\"a\": 1, b: c}"_s);
    row("leading-dot", u".a.b"_s, u"a.b"_s);
    row("spec-example",
        u"modelType == \"swamp/worker\" && attributes.labels.region == \"eu\" && "
        "attributes.lastSeenAt < now - duration(\"5m\")"_s,
        u"(&& (modelType == \"swamp/worker\") (attributes.labels.region == \"eu\") "
        "(attributes.lastSeenAt < (now - duration(\"5m\"))))"_s);
}

void tst_QueryParser::structure()
{
    QFETCH(QString, text);
    QFETCH(QString, expected);
    const auto root = Internal::parse(text);
    QVERIFY_RESULT(root);
    QCOMPARE(dump(**root), expected);
}

void tst_QueryParser::syntaxErrors_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");
    QTest::addColumn<int>("position");
    QTest::addColumn<int>("length");
    const auto row = [](const char *name, const QString &text, const QString &message, int position,
                        int length) {
        QTest::addRow("%s", name) << text << message << position << length;
    };
    const QString prefix = u"syntax error in query predicate: "_s;
    row("empty", QString(), u"query predicate is empty"_s, 0, 1);
    row("only-spaces", u"   "_s, u"query predicate is empty"_s, 0, 1);
    row("single-equals", u"attributes.status = 'idle'"_s,
        prefix + u"\"=\" is not an operator (did you mean \"==\"?)"_s, 18, 1);
    row("single-ampersand", u"a & b"_s,
        prefix + u"\"&\" is not an operator (did you mean \"&&\"?)"_s, 2, 1);
    row("dangling-and", u"a &&"_s,
        prefix + u"unexpected end of predicate (expected an expression)"_s, 4, 1);
    row("missing-operand", u"a == "_s,
        prefix + u"unexpected end of predicate (expected an expression)"_s, 5, 1);
    row("double-operator", u"a == == b"_s, prefix + u"unexpected \"==\" (expected an expression)"_s,
        5, 2);
    row("unclosed-paren", u"(a || b"_s, prefix + u"unexpected end of predicate (expected \")\")"_s,
        7, 1);
    row("extra-paren", u"a || b)"_s,
        prefix + u"unexpected \")\" (expected an operator or the end of the predicate)"_s, 6, 1);
    row("two-values", u"a b"_s,
        prefix + u"unexpected \"b\" (expected an operator or the end of the predicate)"_s, 2, 1);
    row("unclosed-list", u"[1, 2"_s, prefix + u"unexpected end of predicate (expected \"]\")"_s, 5,
        1);
    row("unclosed-map", u"{'a': 1"_s, prefix + u"unexpected end of predicate (expected \"}\")"_s, 7,
        1);
    row("map-missing-colon", u"{'a' 1}"_s, prefix + u"unexpected number (expected \":\")"_s, 5, 1);
    row("ternary-missing-colon", u"a ? b"_s,
        prefix + u"unexpected end of predicate (expected \":\")"_s, 5, 1);
    row("dot-without-name", u"a."_s,
        prefix + u"unexpected end of predicate (expected a field or method name)"_s, 2, 1);
    row("dot-number-is-a-double", u"a.1"_s,
        prefix + u"unexpected number (expected an operator or the end of the predicate)"_s, 1, 2);
    row("dot-string", u"a.'b'"_s, prefix + u"unexpected string (expected a field or method name)"_s,
        2, 3);
    row("then-branch-is-not-a-ternary", u"a ? b ? c : d : e"_s,
        prefix + u"unexpected \"?\" (expected \":\")"_s, 6, 1);
    row("unterminated-string", u"name == 'abc"_s, prefix + u"unterminated string"_s, 8, 4);
    row("bad-escape", u"'a\\qb'"_s, prefix + u"invalid escape sequence \"\\q\""_s, 2, 2);
    row("bad-unicode-escape", u"'\\u12g4'"_s, prefix + u"invalid escape sequence \"\\u12g\""_s, 1,
        5);
    row("surrogate-escape", u"'\\udc00'"_s, prefix + u"invalid code point in \"\\udc00\""_s, 1, 6);
    row("too-big-code-point", u"'\\U00110000'"_s,
        prefix + u"invalid code point in \"\\U00110000\""_s, 1, 10);
    row("int-out-of-range", u"a == 99999999999999999999"_s,
        prefix + u"integer 99999999999999999999 is out of range"_s, 5, 20);
    row("positive-int-min", u"9223372036854775808"_s,
        prefix + u"integer 9223372036854775808 is out of range"_s, 0, 19);
    row("unsigned", u"a == 1u"_s, prefix + u"unsigned integers are not supported"_s, 5, 2);
    row("number-then-letters", u"12abc"_s, prefix + u"unexpected \"a\" after a number"_s, 2, 1);
    row("reserved", u"a == if"_s, prefix + u"\"if\" is a reserved word"_s, 5, 2);
    row("unexpected-character", u"a == $"_s, prefix + u"unexpected character \"$\""_s, 5, 1);
    row("unexpected-astral-character", u"a == 😀"_s, prefix + u"unexpected character \"😀\""_s, 5, 2);
    row("has-needs-selection", u"has(a)"_s, prefix + u"has() takes one field selection"_s, 0, 6);
    row("macro-variable-not-name", u"l.all('x', true)"_s,
        prefix + u"all() needs a variable name first"_s, 6, 3);
    row("macro-arity", u"l.filter(x)"_s,
        prefix + u"filter() takes a variable name and a condition"_s, 2, 6);
    row("bad-regex-literal", u"name.matches('[a-')"_s,
        u"invalid regular expression \"[a-\": missing terminating ] for character class at offset 3"_s,
        13, 5);
    row("position-after-unicode", u"'größe' = 1"_s,
        prefix + u"\"=\" is not an operator (did you mean \"==\"?)"_s, 8, 1);
}

void tst_QueryParser::syntaxErrors()
{
    QFETCH(QString, text);
    QFETCH(QString, message);
    QFETCH(int, position);
    QFETCH(int, length);
    const auto compiled = Predicate::compile(text);
    QVERIFY(!compiled);
    QCOMPARE(compiled.error().code, u"query_syntax"_s);
    QCOMPARE(compiled.error().message, message);
    QCOMPARE(compiled.error().details.value(u"position").toInt(), position);
    QCOMPARE(compiled.error().details.value(u"length").toInt(), length);
}

void tst_QueryParser::unknownNames_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");
    QTest::addColumn<QString>("suggestion");
    QTest::addColumn<int>("position");
    QTest::addColumn<int>("length");
    const auto row = [](const char *name, const QString &text, const QString &message,
                        const QString &suggestion, int position, int length) {
        QTest::addRow("%s", name) << text << message << suggestion << position << length;
    };
    row("spec-stauts", u"modelType == \"swamp/worker\" && attributes.stauts == \"idle\""_s,
        u"unknown field \"stauts\" in query predicate (did you mean \"status\"?)"_s, u"status"_s,
        42, 6);
    row("case-typo", u"attributes.Status == 'idle'"_s,
        u"unknown field \"Status\" in query predicate (did you mean \"status\"?)"_s, u"status"_s,
        11, 6);
    row("field-of-other-model", u"modelType == 'swamp/run' && attributes.status == 'idle'"_s,
        u"unknown field \"status\" in query predicate (did you mean \"state\"?)"_s, u"state"_s, 39,
        6);
    row("field-of-other-model-no-suggestion",
        u"modelType == 'swamp/run' && attributes.hostname == 'x'"_s,
        u"unknown field \"hostname\" in query predicate"_s, QString(), 39, 8);
    row("field-any-model", u"attributes.workername == 'x'"_s,
        u"unknown field \"workername\" in query predicate (did you mean \"workerName\"?)"_s,
        u"workerName"_s, 11, 10);
    row("field-restricted-by-in",
        u"modelType in ['swamp/step', 'swamp/step-lease'] && attributes.stepid == 'x'"_s,
        u"unknown field \"stepid\" in query predicate (did you mean \"stepId\"?)"_s, u"stepId"_s,
        62, 6);
    row("field-by-index", u"attributes['lastseenAt'] < now"_s,
        u"unknown field \"lastseenAt\" in query predicate (did you mean \"lastSeenAt\"?)"_s,
        u"lastSeenAt"_s, 10, 14);
    row("field-in-has", u"has(attributes.colour)"_s,
        u"unknown field \"colour\" in query predicate"_s, QString(), 15, 6);
    row("field-in-has-close", u"has(attributes.labls)"_s,
        u"unknown field \"labls\" in query predicate (did you mean \"labels\"?)"_s, u"labels"_s, 15,
        5);
    row("top-level", u"modeltype == 'swamp/worker'"_s,
        u"unknown field \"modeltype\" in query predicate (did you mean \"modelType\"?)"_s,
        u"modelType"_s, 0, 9);
    row("top-level-attribute-without-prefix", u"status == 'idle'"_s,
        u"unknown field \"status\" in query predicate"_s, QString(), 0, 6);
    row("top-level-attributes-typo", u"atributes.status == 'idle'"_s,
        u"unknown field \"atributes\" in query predicate (did you mean \"attributes\"?)"_s,
        u"attributes"_s, 0, 9);
    row("now-typo", u"attributes.lastSeenAt < nwo"_s,
        u"unknown field \"nwo\" in query predicate (did you mean \"now\"?)"_s, u"now"_s, 24, 3);
    row("variable-typo", u"[1].exists(item, itme > 0)"_s,
        u"unknown field \"itme\" in query predicate (did you mean \"item\"?)"_s, u"item"_s, 17, 4);
    row("model-type-typo", u"modelType == 'swamp/wroker'"_s,
        u"unknown model type \"swamp/wroker\" in query predicate (did you mean \"swamp/worker\"?)"_s,
        u"swamp/worker"_s, 13, 14);
    row("model-type-typo-reversed", u"'swamp/stepp' == modelType"_s,
        u"unknown model type \"swamp/stepp\" in query predicate (did you mean \"swamp/step\"?)"_s,
        u"swamp/step"_s, 0, 13);
    row("model-type-typo-in-list", u"modelType in ['swamp/run', 'swamp/rum']"_s,
        u"unknown model type \"swamp/rum\" in query predicate (did you mean \"swamp/run\"?)"_s,
        u"swamp/run"_s, 27, 11);
    row("function-typo", u"attributes.hostname.startswith('a')"_s,
        u"unknown method \"startswith\" in query predicate (did you mean \"startsWith\"?)"_s,
        u"startsWith"_s, 20, 10);
    row("global-function-typo", u"sise(name) > 1"_s,
        u"unknown function \"sise\" in query predicate (did you mean \"size\"?)"_s, u"size"_s, 0,
        4);
    row("no-suggestion-for-distant", u"attributes.xyz == 1"_s,
        u"unknown field \"xyz\" in query predicate"_s, QString(), 11, 3);
}

void tst_QueryParser::unknownNames()
{
    QFETCH(QString, text);
    QFETCH(QString, message);
    QFETCH(QString, suggestion);
    QFETCH(int, position);
    QFETCH(int, length);
    const auto compiled = Predicate::compile(text);
    QVERIFY(!compiled);
    const Swamp::Error &error = compiled.error();
    QCOMPARE(error.code, u"query_unknown_field"_s);
    QCOMPARE(error.message, message);
    QCOMPARE(error.details.value(u"suggestion").toString(), suggestion);
    QCOMPARE(error.details.value(u"position").toInt(), position);
    QCOMPARE(error.details.value(u"length").toInt(), length);
    QVERIFY(!error.details.value(u"fields").toArray().isEmpty());
    QVERIFY(!error.fix.isEmpty());
}

void tst_QueryParser::typeErrors_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");
    QTest::addColumn<int>("position");
    const auto row = [](const char *name, const QString &text, const QString &message,
                        int position) { QTest::addRow("%s", name) << text << message << position; };
    row("string-less-int", u"attributes.status < 5"_s, u"no operator '<' for string and int"_s, 18);
    row("int-equals-string", u"attributes.capacity == '4'"_s,
        u"no operator '==' for int and string"_s, 20);
    row("timestamp-less-string", u"attributes.lastSeenAt < '2026-01-01T00:00:00Z'"_s,
        u"no operator '<' for timestamp and string"_s, 22);
    row("timestamp-minus-int", u"now - 5"_s, u"no operator '-' for timestamp and int"_s, 4);
    row("int-plus-double", u"1 + 2.0"_s, u"no operator '+' for int and double"_s, 2);
    row("bool-and-string", u"true && 'a'"_s, u"operator '&&' needs bool operands, not string"_s, 8);
    row("not-string", u"!name"_s, u"no operator '!' for string"_s, 0);
    row("negate-bool", u"-true"_s, u"no operator '-' for bool"_s, 0);
    row("field-on-string", u"name.first"_s, u"no field \"first\" on string"_s, 5);
    row("method-on-int", u"attributes.capacity.startsWith('1')"_s,
        u"no overload of startsWith(string) on int"_s, 20);
    row("function-wrong-argument", u"duration(5)"_s, u"no overload of duration(int)"_s, 0);
    row("function-too-many-arguments", u"size('a', 'b')"_s,
        u"no overload of size(string, string)"_s, 0);
    row("index-list-with-string", u"[1]['a']"_s, u"no operator '[]' for list and string"_s, 3);
    row("in-int", u"1 in 2"_s, u"no operator 'in' for int and int"_s, 2);
    row("ternary-condition", u"'a' ? 1 : 2"_s, u"the condition of '?:' must be bool, not string"_s,
        0);
    row("macro-over-string", u"name.exists(c, true)"_s,
        u"exists() needs a list or a map, not string"_s, 5);
    row("macro-condition", u"[1].all(x, 1 + 1)"_s,
        u"the condition of all() must be bool, not int"_s, 13);
    row("map-key-int", u"{1: 'a'}"_s, u"map keys must be strings, not int"_s, 1);
}

void tst_QueryParser::typeErrors()
{
    QFETCH(QString, text);
    QFETCH(QString, message);
    QFETCH(int, position);
    const auto compiled = Predicate::compile(text);
    QVERIFY(!compiled);
    QCOMPARE(compiled.error().code, u"query_type"_s);
    QCOMPARE(compiled.error().message, message);
    QCOMPARE(compiled.error().details.value(u"position").toInt(), position);
}

void tst_QueryParser::limits_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("code");
    const QString longName = u"name == '%1'"_s;
    QTest::addRow("length-4096-ok") << longName.arg(QString(4096 - 10, u'x')) << QString();
    QTest::addRow("length-4097-too-long")
        << longName.arg(QString(4097 - 10, u'x')) << u"query_too_long"_s;
    QTest::addRow("length-huge-too-long") << QString(1000000, u'(') << u"query_too_long"_s;
    QTest::addRow("parentheses-63-ok") << QString(63, u'(') + u"1" + QString(63, u')') << QString();
    QTest::addRow("parentheses-64-too-deep")
        << QString(64, u'(') + u"1" + QString(64, u')') << u"query_too_deep"_s;
    QTest::addRow("parentheses-4000-too-deep") << QString(4000, u'(') << u"query_too_deep"_s;
    QTest::addRow("brackets-too-deep") << QString(2000, u'[') << u"query_too_deep"_s;
    QTest::addRow("braces-too-deep") << QString(1000, u'{') << u"query_too_deep"_s;
    QTest::addRow("not-chain-ok") << QString(60, u'!') + u"true" << QString();
    QTest::addRow("not-chain-too-deep") << QString(4000, u'!') + u"true" << u"query_too_deep"_s;
    QTest::addRow("minus-chain-too-deep") << QString(4000, u'-') + u"a" << u"query_too_deep"_s;
    QString adds = u"1"_s;
    for (int i = 0; i < 70; ++i)
        adds += u" + 1"_s;
    QTest::addRow("long-addition-too-deep") << adds << u"query_too_deep"_s;
    QString ands = u"true"_s;
    for (int i = 0; i < 500; ++i)
        ands += u" && true"_s;
    QTest::addRow("long-and-chain-ok") << ands << QString();
    QString selects = u"attributes.labels"_s;
    for (int i = 0; i < 100; ++i)
        selects += u".a"_s;
    QTest::addRow("long-select-chain-too-deep") << selects << u"query_too_deep"_s;
    QString calls = u"name"_s;
    for (int i = 0; i < 100; ++i)
        calls = u"size(string("_s + calls + u"))"_s;
    QTest::addRow("nested-calls-too-deep") << calls.left(4096) << u"query_too_deep"_s;
    QTest::addRow("ternary-chain-too-deep")
        << QString(u"true ? 1 : "_s).repeated(300) + u"2"_s << u"query_too_deep"_s;
}

void tst_QueryParser::limits()
{
    QFETCH(QString, text);
    QFETCH(QString, code);
    const auto compiled = Predicate::compile(text);
    if (code.isEmpty()) {
        QVERIFY_RESULT(compiled);
        return;
    }
    QVERIFY(!compiled);
    QCOMPARE(compiled.error().code, code);
    QVERIFY(!compiled.error().fix.isEmpty());
}

void tst_QueryParser::modelTypeHints_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("types");
    QTest::addColumn<bool>("any");
    const auto row = [](const char *name, const QString &text, const QStringList &types, bool any) {
        QTest::addRow("%s", name) << text << types << any;
    };
    row("equal", u"modelType == 'swamp/worker'"_s, {u"swamp/worker"_s}, false);
    row("equal-reversed", u"'swamp/worker' == modelType"_s, {u"swamp/worker"_s}, false);
    row("in-list", u"modelType in ['swamp/step', 'swamp/run']"_s, {u"swamp/step"_s, u"swamp/run"_s},
        false);
    row("in-and-chain", u"attributes.state == 'running' && modelType == 'swamp/run'"_s,
        {u"swamp/run"_s}, false);
    row("intersection", u"modelType in ['swamp/step', 'swamp/run'] && modelType == 'swamp/run'"_s,
        {u"swamp/run"_s}, false);
    row("contradiction", u"modelType == 'swamp/step' && modelType == 'swamp/run'"_s, {}, false);
    row("none", u"attributes.state == 'running'"_s, {}, true);
    row("under-or", u"modelType == 'swamp/step' || modelType == 'swamp/run'"_s, {}, true);
    row("negated", u"!(modelType == 'swamp/step')"_s, {}, true);
    row("not-equal", u"modelType != 'swamp/step'"_s, {}, true);
    row("in-dynamic-list", u"modelType in ['swamp/step', name]"_s, {}, true);
    row("nested-and-in-parentheses-ignored", u"name == 'x' || (modelType == 'swamp/run' && true)"_s,
        {}, true);
}

void tst_QueryParser::modelTypeHints()
{
    QFETCH(QString, text);
    QFETCH(QStringList, types);
    QFETCH(bool, any);
    const auto compiled = Predicate::compile(text);
    QVERIFY_RESULT(compiled);
    const std::optional<QStringList> hint = compiled->modelTypes();
    QCOMPARE(!hint.has_value(), any);
    if (hint)
        QCOMPARE(*hint, types);
}

void tst_QueryParser::equalityHints_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected"); // field=json;...
    const auto row = [](const char *name, const QString &text, const QString &expected) {
        QTest::addRow("%s", name) << text << expected;
    };
    row("spec-idle", u"modelType == \"swamp/worker\" && attributes.status == \"idle\""_s,
        u"status=\"idle\""_s);
    row("reversed", u"'idle' == attributes.status"_s, u"status=\"idle\""_s);
    row("index-form", u"attributes['status'] == 'idle'"_s, u"status=\"idle\""_s);
    row("int", u"attributes.capacity == 4"_s, u"capacity=4"_s);
    row("bool", u"attributes.draining == true"_s, u"draining=true"_s);
    row("double", u"attributes.capacity == 4.5"_s, u"capacity=4.5"_s);
    row("several",
        u"attributes.status == 'idle' && attributes.capacity == 4 && attributes.labels.os == 'linux'"_s,
        u"status=\"idle\";capacity=4"_s);
    row("null-skipped", u"attributes.disconnectedAt == null"_s, QString());
    row("not-equal-skipped", u"attributes.status != 'idle'"_s, QString());
    row("under-or-skipped", u"attributes.status == 'idle' || attributes.status == 'busy'"_s,
        QString());
    row("non-literal-skipped", u"attributes.status == name"_s, QString());
    row("nested-field-skipped", u"attributes.labels.os == 'linux'"_s, QString());
}

void tst_QueryParser::equalityHints()
{
    QFETCH(QString, text);
    QFETCH(QString, expected);
    const auto compiled = Predicate::compile(text);
    QVERIFY_RESULT(compiled);
    QStringList parts;
    for (const auto &[field, value] : compiled->attributeEqualities()) {
        const QByteArray json = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
        parts << field + u'=' + QString::fromUtf8(json.mid(1, json.size() - 2));
    }
    QCOMPARE(parts.join(u';'), expected);
}

void tst_QueryParser::customSchema()
{
    Schema schema;
    schema.addModel(u"acme/widget"_s, {{u"color"_s, FieldType::String},
                                       {u"madeAt"_s, FieldType::Timestamp},
                                       {u"life"_s, FieldType::Duration}});
    QCOMPARE(schema.modelTypes(), QStringList{u"acme/widget"_s});
    const auto typo = Predicate::compile(u"attributes.colour == 'red'"_s, schema);
    QVERIFY(!typo);
    QCOMPARE(typo.error().details.value(u"suggestion").toString(), u"color"_s);
    const auto unknownModel = Predicate::compile(u"modelType == 'swamp/worker'"_s, schema);
    QVERIFY(!unknownModel);
    const auto compiled = Predicate::compile(
        u"modelType == 'acme/widget' && attributes.madeAt + attributes.life > now"_s, schema);
    QVERIFY_RESULT(compiled);
    const QJsonObject record = QueryFixtures::parseObject(
        R"({"modelType": "acme/widget", "attributes": {"color": "red",
            "madeAt": "2026-11-24T09:00:00Z", "life": "2h"}})");
    QCOMPARE(compiled->matches(record, QueryFixtures::now()).value(), true);
}

void tst_QueryParser::schemaLookups()
{
    const Schema &schema = Schema::builtin();
    QCOMPARE(schema.modelTypes(),
             (QStringList{u"swamp/worker"_s, u"swamp/enrollment-token"_s, u"swamp/step"_s,
                          u"swamp/step-lease"_s, u"swamp/run"_s, u"swamp/audit-event"_s}));
    QCOMPARE(schema.attributeType(u"lastSeenAt"_s), FieldType::Timestamp);
    QCOMPARE(schema.attributeType(u"labels"_s), FieldType::Map);
    QCOMPARE(schema.attributeType(u"status"_s, {u"swamp/run"_s}), std::nullopt);
    QCOMPARE(schema.attributeNames({u"swamp/run"_s}),
             (QStringList{u"failed"_s, u"finishedAt"_s, u"state"_s, u"steps"_s, u"succeeded"_s}));
    QCOMPARE(schema.attributes(u"swamp/worker"_s).size(), 17); // paused since schema 9
    QCOMPARE(schema.attributes(u"swamp/enrollment-token"_s).size(), 9);
    QCOMPARE(schema.attributes(u"swamp/step"_s).size(), 18); // maskedEnv since schema 6
    QCOMPARE(schema.attributes(u"swamp/step-lease"_s).size(), 10);
    QCOMPARE(schema.attributes(u"swamp/audit-event"_s).size(), 8);
    QCOMPARE(schema.attributeType(u"client"_s, {u"swamp/audit-event"_s}), FieldType::Map);
}

QTEST_GUILESS_MAIN(tst_QueryParser)
#include "tst_query_parser.moc"
