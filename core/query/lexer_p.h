#pragma once

#include "common/result.h"

#include <QList>
#include <QString>

namespace Swamp::Query::Internal {

enum class TokenKind {
    End,
    Identifier,
    Int,    // intValue
    Double, // doubleValue
    String, // text (escapes resolved)
    True,
    False,
    Null,
    In,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    LeftBrace,
    RightBrace,
    Dot,
    Comma,
    Colon,
    Question,
    Not,
    Minus,
    Plus,
    Star,
    Slash,
    Percent,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    And,
    Or,
};

struct Token
{
    TokenKind kind = TokenKind::End;
    qsizetype position = 0; // QChar offset in the predicate
    qsizetype length = 0;
    QString text; // identifier name, or the string literal's value
    qint64 intValue = 0;
    double doubleValue = 0;
    // An integer literal of exactly 9223372036854775808: valid only right after unary minus.
    bool intIsMinMagnitude = false;
};

// Splits a predicate into tokens; the last one is End. Errors are query_syntax with a position.
Result<QList<Token>> tokenize(const QString &text);

QString tokenDescription(const Token &token);

} // namespace Swamp::Query::Internal
