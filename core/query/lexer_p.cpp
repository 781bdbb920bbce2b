#include "query/lexer_p.h"

#include "query/errors_p.h"

#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;

namespace Swamp::Query::Internal {

namespace {

bool isIdentifierStart(QChar c)
{
    return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || c == u'_';
}

bool isDigit(QChar c)
{
    return c >= u'0' && c <= u'9';
}

bool isHexDigit(QChar c)
{
    return isDigit(c) || (c >= u'a' && c <= u'f') || (c >= u'A' && c <= u'F');
}

const QStringList &reservedWords()
{
    static const QStringList words{
        u"as"_s,        u"break"_s,  u"const"_s,  u"continue"_s, u"else"_s, u"for"_s,
        u"function"_s,  u"if"_s,     u"import"_s, u"let"_s,      u"loop"_s, u"package"_s,
        u"namespace"_s, u"return"_s, u"var"_s,    u"void"_s,     u"while"_s};
    return words;
}

class Lexer
{
public:
    explicit Lexer(const QString &text) : m_text(text) {}

    Result<QList<Token>> run()
    {
        QList<Token> tokens;
        while (true) {
            skipSpace();
            Result<Token> token = next();
            if (!token)
                return std::unexpected(token.error());
            const bool end = token->kind == TokenKind::End;
            tokens << std::move(*token);
            if (end)
                return tokens;
        }
    }

private:
    QChar peek(qsizetype ahead = 0) const
    {
        const qsizetype at = m_at + ahead;
        return at < m_text.size() ? m_text.at(at) : QChar();
    }

    void skipSpace()
    {
        while (m_at < m_text.size()) {
            const QChar c = m_text.at(m_at);
            if (c == u' ' || c == u'\t' || c == u'\n' || c == u'\r' || c == u'\f') {
                ++m_at;
            } else if (c == u'/' && peek(1) == u'/') { // CEL line comment
                while (m_at < m_text.size() && m_text.at(m_at) != u'\n')
                    ++m_at;
            } else {
                return;
            }
        }
    }

    std::unexpected<Error> syntax(const QString &what, qsizetype position, qsizetype length,
                                  const QString &fix = {}) const
    {
        return std::unexpected(positionedError(
            u"query_syntax"_s, Tr::tr("syntax error in query predicate: %1").arg(what), position,
            length, fix));
    }

    Token make(TokenKind kind, qsizetype start) const
    {
        Token token;
        token.kind = kind;
        token.position = start;
        token.length = m_at - start;
        return token;
    }

    Result<Token> next()
    {
        const qsizetype start = m_at;
        if (m_at >= m_text.size())
            return make(TokenKind::End, start);
        const QChar c = m_text.at(m_at);
        const QChar c1 = peek(1);
        if (isIdentifierStart(c)) {
            if ((c == u'r' || c == u'R') && (c1 == u'"' || c1 == u'\''))
                return string(true);
            if ((c == u'b' || c == u'B') && (c1 == u'"' || c1 == u'\''))
                return syntax(Tr::tr("bytes literals are not supported"), start, 2);
            return word();
        }
        if (isDigit(c) || (c == u'.' && isDigit(c1)))
            return number();
        if (c == u'"' || c == u'\'')
            return string(false);
        return punctuation();
    }

    // An identifier, or the keyword it spells; a reserved word is refused.
    Result<Token> word()
    {
        const qsizetype start = m_at;
        while (m_at < m_text.size() &&
               (isIdentifierStart(m_text.at(m_at)) || isDigit(m_text.at(m_at))))
            ++m_at;
        Token token = make(TokenKind::Identifier, start);
        token.text = m_text.mid(start, m_at - start);
        if (token.text == u"true")
            token.kind = TokenKind::True;
        else if (token.text == u"false")
            token.kind = TokenKind::False;
        else if (token.text == u"null")
            token.kind = TokenKind::Null;
        else if (token.text == u"in")
            token.kind = TokenKind::In;
        else if (reservedWords().contains(token.text))
            return syntax(Tr::tr("\"%1\" is a reserved word").arg(token.text), start, token.length);
        return token;
    }

    // An operator or a bracket of one or two characters; anything else is refused, with a hint
    // for the C-like operators CEL spells differently.
    Result<Token> punctuation()
    {
        const qsizetype start = m_at;
        const QChar c = m_text.at(m_at);
        const QChar c1 = peek(1);
        const auto two = [&](TokenKind kind) {
            m_at += 2;
            return make(kind, start);
        };
        const auto one = [&](TokenKind kind) {
            m_at += 1;
            return make(kind, start);
        };
        switch (c.unicode()) {
        case u'(':
            return one(TokenKind::LeftParen);
        case u')':
            return one(TokenKind::RightParen);
        case u'[':
            return one(TokenKind::LeftBracket);
        case u']':
            return one(TokenKind::RightBracket);
        case u'{':
            return one(TokenKind::LeftBrace);
        case u'}':
            return one(TokenKind::RightBrace);
        case u'.':
            return one(TokenKind::Dot);
        case u',':
            return one(TokenKind::Comma);
        case u':':
            return one(TokenKind::Colon);
        case u'?':
            return one(TokenKind::Question);
        case u'+':
            return one(TokenKind::Plus);
        case u'-':
            return one(TokenKind::Minus);
        case u'*':
            return one(TokenKind::Star);
        case u'/':
            return one(TokenKind::Slash);
        case u'%':
            return one(TokenKind::Percent);
        case u'!':
            return c1 == u'=' ? two(TokenKind::NotEqual) : one(TokenKind::Not);
        case u'<':
            return c1 == u'=' ? two(TokenKind::LessEqual) : one(TokenKind::Less);
        case u'>':
            return c1 == u'=' ? two(TokenKind::GreaterEqual) : one(TokenKind::Greater);
        case u'=':
            if (c1 == u'=')
                return two(TokenKind::Equal);
            return syntax(Tr::tr("\"=\" is not an operator (did you mean \"==\"?)"), start, 1);
        case u'&':
            if (c1 == u'&')
                return two(TokenKind::And);
            return syntax(Tr::tr("\"&\" is not an operator (did you mean \"&&\"?)"), start, 1);
        case u'|':
            if (c1 == u'|')
                return two(TokenKind::Or);
            return syntax(Tr::tr("\"|\" is not an operator (did you mean \"||\"?)"), start, 1);
        default:
            break;
        }
        const qsizetype length = c.isHighSurrogate() && c1.isLowSurrogate() ? 2 : 1;
        return syntax(Tr::tr("unexpected character \"%1\"").arg(m_text.mid(start, length)), start,
                      length);
    }

    Result<Token> number()
    {
        const qsizetype start = m_at;
        if (peek() == u'0' && (peek(1) == u'x' || peek(1) == u'X')) {
            m_at += 2;
            const qsizetype digitsStart = m_at;
            while (isHexDigit(peek()))
                ++m_at;
            if (m_at == digitsStart)
                return syntax(Tr::tr("hexadecimal literal without digits"), start, m_at - start);
            return integer(start, m_text.mid(digitsStart, m_at - digitsStart), 16);
        }
        bool isDouble = false;
        while (isDigit(peek()))
            ++m_at;
        if (peek() == u'.' && isDigit(peek(1))) {
            isDouble = true;
            ++m_at;
            while (isDigit(peek()))
                ++m_at;
        }
        if (peek() == u'e' || peek() == u'E') {
            qsizetype at = m_at + 1;
            if (at < m_text.size() && (m_text.at(at) == u'+' || m_text.at(at) == u'-'))
                ++at;
            if (at < m_text.size() && isDigit(m_text.at(at))) {
                isDouble = true;
                m_at = at;
                while (isDigit(peek()))
                    ++m_at;
            }
        }
        const QString literal = m_text.mid(start, m_at - start);
        if (!isDouble)
            return integer(start, literal, 10);
        if (isIdentifierStart(peek()))
            return syntax(Tr::tr("unexpected \"%1\" after a number").arg(peek()), m_at, 1);
        Token token = make(TokenKind::Double, start);
        bool ok = false;
        token.doubleValue = literal.toDouble(&ok);
        if (!ok || !std::isfinite(token.doubleValue))
            return syntax(Tr::tr("number %1 is out of range").arg(literal), start, token.length);
        return token;
    }

    Result<Token> integer(qsizetype start, const QString &digits, int base)
    {
        if (peek() == u'u' || peek() == u'U')
            return syntax(Tr::tr("unsigned integers are not supported"), start, m_at - start + 1,
                          Tr::tr("drop the \"u\" suffix"));
        if (isIdentifierStart(peek()))
            return syntax(Tr::tr("unexpected \"%1\" after a number").arg(peek()), m_at, 1);
        Token token = make(TokenKind::Int, start);
        bool ok = false;
        const quint64 magnitude = digits.toULongLong(&ok, base);
        constexpr quint64 maxMagnitude = quint64(std::numeric_limits<qint64>::max()) + 1;
        if (!ok || magnitude > maxMagnitude)
            return syntax(
                Tr::tr("integer %1 is out of range").arg(m_text.mid(start, m_at - start)), start,
                token.length,
                Tr::tr("integers are 64-bit: -9223372036854775808 to 9223372036854775807"));
        if (magnitude == maxMagnitude)
            token.intIsMinMagnitude = true;
        else
            token.intValue = qint64(magnitude);
        return token;
    }

    Result<Token> string(bool raw)
    {
        const qsizetype start = m_at;
        if (raw)
            ++m_at;
        const QChar quote = peek();
        const bool triple = peek(1) == quote && peek(2) == quote;
        m_at += triple ? 3 : 1;
        QString value;
        while (true) {
            if (m_at >= m_text.size())
                return syntax(Tr::tr("unterminated string"), start, m_at - start,
                              Tr::tr("close the string with %1").arg(quote));
            const QChar c = m_text.at(m_at);
            if (c == quote) {
                if (!triple) {
                    ++m_at;
                    break;
                }
                if (peek(1) == quote && peek(2) == quote) {
                    m_at += 3;
                    break;
                }
            }
            if (!triple && (c == u'\n' || c == u'\r'))
                return syntax(
                    Tr::tr("unterminated string"), start, m_at - start,
                    Tr::tr("close the string with %1 before the end of the line").arg(quote));
            if (c == u'\\' && !raw) {
                Result<void> escaped = escape(value);
                if (!escaped)
                    return std::unexpected(escaped.error());
                continue;
            }
            value += c;
            ++m_at;
        }
        Token token = make(TokenKind::String, start);
        token.text = std::move(value);
        return token;
    }

    Result<void> escape(QString &value)
    {
        const qsizetype start = m_at;
        const QChar c = peek(1);
        m_at += 2;
        switch (c.unicode()) {
        case u'n':
            value += u'\n';
            return {};
        case u't':
            value += u'\t';
            return {};
        case u'r':
            value += u'\r';
            return {};
        case u'a':
            value += u'\a';
            return {};
        case u'b':
            value += u'\b';
            return {};
        case u'f':
            value += u'\f';
            return {};
        case u'v':
            value += u'\v';
            return {};
        case u'\\':
            value += u'\\';
            return {};
        case u'"':
            value += u'"';
            return {};
        case u'\'':
            value += u'\'';
            return {};
        case u'`':
            value += u'`';
            return {};
        case u'?':
            value += u'?';
            return {};
        case u'x':
        case u'X':
            return codePoint(value, start, 2);
        case u'u':
            return codePoint(value, start, 4);
        case u'U':
            return codePoint(value, start, 8);
        default:
            break;
        }
        if (c >= u'0' && c <= u'3' && peek() >= u'0' && peek() <= u'7' && peek(1) >= u'0' &&
            peek(1) <= u'7') {
            value += QChar(((c.unicode() - u'0') << 6) | ((peek().unicode() - u'0') << 3) |
                           (peek(1).unicode() - u'0'));
            m_at += 2;
            return {};
        }
        const qsizetype length = c.isNull() ? 1 : 2;
        return syntax(Tr::tr("invalid escape sequence \"%1\"").arg(m_text.mid(start, length)),
                      start, length,
                      Tr::tr("use \\n \\t \\\\ \\\" \\' or \\uXXXX, or a raw string r\"...\""));
    }

    Result<void> codePoint(QString &value, qsizetype start, int digits)
    {
        char32_t code = 0;
        for (int i = 0; i < digits; ++i) {
            if (!isHexDigit(peek()))
                return syntax(Tr::tr("invalid escape sequence \"%1\"")
                                  .arg(m_text.mid(start, m_at - start + (peek().isNull() ? 0 : 1))),
                              start, m_at - start + 1,
                              Tr::tr("\\u needs 4 hex digits, \\U 8 and \\x 2"));
            code = code * 16 + char32_t(QStringView(m_text).mid(m_at, 1).toUInt(nullptr, 16));
            ++m_at;
        }
        if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
            return syntax(
                Tr::tr("invalid code point in \"%1\"").arg(m_text.mid(start, m_at - start)), start,
                m_at - start);
        value += QString::fromUcs4(&code, 1);
        return {};
    }

    const QString &m_text;
    qsizetype m_at = 0;
};

} // namespace

Result<QList<Token>> tokenize(const QString &text)
{
    return Lexer(text).run();
}

QString tokenDescription(const Token &token)
{
    switch (token.kind) {
    case TokenKind::End:
        return Tr::tr("end of predicate");
    case TokenKind::Identifier:
        return u"\"%1\""_s.arg(token.text);
    case TokenKind::String:
        return Tr::tr("string");
    case TokenKind::Int:
    case TokenKind::Double:
        return Tr::tr("number");
    default:
        break;
    }
    static const char16_t *const spellings[] = {
        u"",  u"",  u"",  u"",   u"",   u"true", u"false", u"null", u"in", u"(",  u")",
        u"[", u"]", u"{", u"}",  u".",  u",",    u":",     u"?",    u"!",  u"-",  u"+",
        u"*", u"/", u"%", u"==", u"!=", u"<",    u"<=",    u">",    u">=", u"&&", u"||"};
    return u"\"%1\""_s.arg(QString::fromUtf16(spellings[int(token.kind)]));
}

} // namespace Swamp::Query::Internal
