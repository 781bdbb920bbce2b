#include "query/parser_p.h"

#include "query/errors_p.h"
#include "query/lexer_p.h"

#include <limits>

using namespace Qt::StringLiterals;

namespace Swamp::Query::Internal {

QString opSpelling(Op op)
{
    switch (op) {
    case Op::None:
        return {};
    case Op::Not:
        return u"!"_s;
    case Op::Negate:
        return u"-"_s;
    case Op::Add:
        return u"+"_s;
    case Op::Subtract:
        return u"-"_s;
    case Op::Multiply:
        return u"*"_s;
    case Op::Divide:
        return u"/"_s;
    case Op::Modulo:
        return u"%"_s;
    case Op::Equal:
        return u"=="_s;
    case Op::NotEqual:
        return u"!="_s;
    case Op::Less:
        return u"<"_s;
    case Op::LessEqual:
        return u"<="_s;
    case Op::Greater:
        return u">"_s;
    case Op::GreaterEqual:
        return u">="_s;
    case Op::In:
        return u"in"_s;
    }
    return {};
}

namespace {

using NodePtr = std::unique_ptr<Node>;

class Parser
{
public:
    Parser(const QString &text, QList<Token> tokens) : m_text(text), m_tokens(std::move(tokens)) {}

    Result<NodePtr> run()
    {
        Result<NodePtr> root = expression();
        if (!root)
            return root;
        if (current().kind != TokenKind::End)
            return unexpected(Tr::tr("an operator or the end of the predicate"));
        return root;
    }

private:
    const Token &current() const { return m_tokens.at(m_at); }
    const Token &ahead(qsizetype n) const
    {
        return m_tokens.at(std::min(m_at + n, m_tokens.size() - 1));
    }
    const Token &advance() { return m_tokens.at(m_at++); }
    qsizetype previousEnd() const
    {
        const Token &token = m_tokens.at(m_at - 1);
        return token.position + token.length;
    }

    std::unexpected<Error> unexpected(const QString &expected) const
    {
        const Token &token = current();
        return std::unexpected(positionedError(
            u"query_syntax"_s,
            Tr::tr("syntax error in query predicate: unexpected %1 (expected %2)")
                .arg(tokenDescription(token), expected),
            token.kind == TokenKind::End ? m_text.size() : token.position, token.length));
    }

    Result<void> expect(TokenKind kind, const QString &spelling)
    {
        if (current().kind != kind)
            return unexpected(u"\"%1\""_s.arg(spelling));
        advance();
        return {};
    }

    // Every node is made here so that the height limit is checked in one place.
    Result<NodePtr> finish(NodePtr node)
    {
        int height = 0;
        for (const NodePtr &child : node->children)
            height = std::max(height, child->height);
        node->height = height + 1;
        if (node->height > maxNesting)
            return tooDeep(node->position, node->length);
        return node;
    }

    static std::unexpected<Error> tooDeep(qsizetype position, qsizetype length)
    {
        return std::unexpected(positionedError(u"query_too_deep"_s,
                                               Tr::tr("query predicate is nested deeper than %1 levels").arg(maxNesting),
                                               position, length, Tr::tr("split the predicate into simpler parts")));
    }

    // `parse` one level of recursion deeper; past maxNesting the predicate is refused before
    // the parser's own stack could run out.
    Result<NodePtr> nested(Result<NodePtr> (Parser::*parse)())
    {
        if (++m_depth > maxNesting)
            return tooDeep(current().position, current().length);
        Result<NodePtr> result = (this->*parse)();
        --m_depth;
        return result;
    }

    NodePtr node(NodeKind kind, const Token &focus, qsizetype start) const
    {
        auto made = std::make_unique<Node>();
        made->kind = kind;
        made->position = focus.position;
        made->length = focus.length;
        made->start = start;
        return made;
    }

    Result<NodePtr> expression() { return nested(&Parser::conditional); }

    Result<NodePtr> conditional()
    {
        const qsizetype start = current().position;
        Result<NodePtr> condition = logical(TokenKind::Or);
        if (!condition || current().kind != TokenKind::Question)
            return condition;
        NodePtr made = node(NodeKind::Conditional, advance(), start);
        Result<NodePtr> then = logical(TokenKind::Or);
        if (!then)
            return then;
        if (Result<void> colon = expect(TokenKind::Colon, u":"_s); !colon)
            return std::unexpected(colon.error());
        Result<NodePtr> otherwise = expression();
        if (!otherwise)
            return otherwise;
        made->children.push_back(std::move(*condition));
        made->children.push_back(std::move(*then));
        made->children.push_back(std::move(*otherwise));
        made->end = previousEnd();
        return finish(std::move(made));
    }

    // || and && chains become one n-ary node each.
    Result<NodePtr> logical(TokenKind kind)
    {
        const qsizetype start = current().position;
        Result<NodePtr> first = kind == TokenKind::Or ? logical(TokenKind::And) : relation();
        if (!first || current().kind != kind)
            return first;
        NodePtr made = node(kind == TokenKind::Or ? NodeKind::Or : NodeKind::And, current(), start);
        made->children.push_back(std::move(*first));
        while (current().kind == kind) {
            advance();
            Result<NodePtr> next = kind == TokenKind::Or ? logical(TokenKind::And) : relation();
            if (!next)
                return next;
            made->children.push_back(std::move(*next));
        }
        made->end = previousEnd();
        return finish(std::move(made));
    }

    static Op binaryOp(TokenKind kind)
    {
        switch (kind) {
        case TokenKind::Equal:
            return Op::Equal;
        case TokenKind::NotEqual:
            return Op::NotEqual;
        case TokenKind::Less:
            return Op::Less;
        case TokenKind::LessEqual:
            return Op::LessEqual;
        case TokenKind::Greater:
            return Op::Greater;
        case TokenKind::GreaterEqual:
            return Op::GreaterEqual;
        case TokenKind::In:
            return Op::In;
        case TokenKind::Plus:
            return Op::Add;
        case TokenKind::Minus:
            return Op::Subtract;
        case TokenKind::Star:
            return Op::Multiply;
        case TokenKind::Slash:
            return Op::Divide;
        case TokenKind::Percent:
            return Op::Modulo;
        default:
            return Op::None;
        }
    }

    // Left-associative binary levels: 0 = relations, 1 = + -, 2 = * / %.
    Result<NodePtr> binary(int level)
    {
        const auto operand = [&]() { return level == 2 ? unary() : binary(level + 1); };
        const auto belongs = [level](Op op) {
            switch (level) {
            case 0:
                return op >= Op::Equal;
            case 1:
                return op == Op::Add || op == Op::Subtract;
            default:
                return op == Op::Multiply || op == Op::Divide || op == Op::Modulo;
            }
        };
        const qsizetype start = current().position;
        Result<NodePtr> left = operand();
        if (!left)
            return left;
        while (belongs(binaryOp(current().kind))) {
            NodePtr made = node(NodeKind::Binary, current(), start);
            made->op = binaryOp(advance().kind);
            Result<NodePtr> right = operand();
            if (!right)
                return right;
            made->children.push_back(std::move(*left));
            made->children.push_back(std::move(*right));
            made->end = previousEnd();
            left = finish(std::move(made));
            if (!left)
                return left;
        }
        return left;
    }

    Result<NodePtr> relation() { return binary(0); }

    Result<NodePtr> unary()
    {
        const Token &token = current();
        if (token.kind == TokenKind::Minus &&
            (ahead(1).kind == TokenKind::Int || ahead(1).kind == TokenKind::Double) &&
            ahead(2).kind != TokenKind::Dot && ahead(2).kind != TokenKind::LeftBracket) {
            // A negative literal, so that -9223372036854775808 is representable.
            advance();
            const Token &number = advance();
            NodePtr made = node(NodeKind::Literal, token, token.position);
            made->length = number.position + number.length - token.position;
            if (number.kind == TokenKind::Double)
                made->literal = Value::fromDouble(-number.doubleValue);
            else
                made->literal =
                    Value::fromInt(number.intIsMinMagnitude ? std::numeric_limits<qint64>::min()
                                                            : -number.intValue);
            made->end = previousEnd();
            return finish(std::move(made));
        }
        if (token.kind == TokenKind::Not || token.kind == TokenKind::Minus) {
            NodePtr made = node(NodeKind::Unary, advance(), token.position);
            made->op = token.kind == TokenKind::Not ? Op::Not : Op::Negate;
            // Iterative for runs of operators, recursive only through finish()'s height check.
            Result<NodePtr> operand = unaryChain();
            if (!operand)
                return operand;
            made->children.push_back(std::move(*operand));
            made->end = previousEnd();
            return finish(std::move(made));
        }
        return member();
    }

    // The operand of a prefix operator; long runs of `!!!!` are bounded by the height check
    // before they can recurse deeply.
    Result<NodePtr> unaryChain() { return nested(&Parser::unary); }

    Result<NodePtr> member()
    {
        const qsizetype start = current().position;
        Result<NodePtr> target = primary();
        if (!target)
            return target;
        while (true) {
            if (current().kind == TokenKind::Dot) {
                advance();
                if (current().kind != TokenKind::Identifier)
                    return unexpected(Tr::tr("a field or method name"));
                const Token &name = advance();
                if (current().kind == TokenKind::LeftParen) {
                    advance();
                    NodePtr call = node(NodeKind::Call, name, start);
                    call->name = name.text;
                    call->isMethod = true;
                    call->children.push_back(std::move(*target));
                    if (Result<void> args = arguments(*call); !args)
                        return std::unexpected(args.error());
                    call->end = previousEnd();
                    target = macro(std::move(call));
                } else {
                    NodePtr select = node(NodeKind::Select, name, start);
                    select->name = name.text;
                    select->children.push_back(std::move(*target));
                    select->end = previousEnd();
                    target = finish(std::move(select));
                }
            } else if (current().kind == TokenKind::LeftBracket) {
                NodePtr index = node(NodeKind::Index, advance(), start);
                Result<NodePtr> key = expression();
                if (!key)
                    return key;
                if (Result<void> close = expect(TokenKind::RightBracket, u"]"_s); !close)
                    return std::unexpected(close.error());
                index->children.push_back(std::move(*target));
                index->children.push_back(std::move(*key));
                index->end = previousEnd();
                index->length = index->end - index->position;
                target = finish(std::move(index));
            } else {
                return target;
            }
            if (!target)
                return target;
        }
    }

    // Parses `arg, arg, ...)` after the opening parenthesis.
    Result<void> arguments(Node &call)
    {
        if (current().kind == TokenKind::RightParen) {
            advance();
            return {};
        }
        while (true) {
            Result<NodePtr> argument = expression();
            if (!argument)
                return std::unexpected(argument.error());
            call.children.push_back(std::move(*argument));
            if (current().kind == TokenKind::Comma) {
                advance();
                continue;
            }
            return expect(TokenKind::RightParen, u")"_s);
        }
    }

    // Turns has(x.f), l.exists(v, p), l.all(v, p), l.exists_one(v, p), l.map(v, t),
    // l.map(v, p, t) and l.filter(v, p) into their own nodes; other calls stay calls.
    Result<NodePtr> macro(NodePtr call)
    {
        const qsizetype arguments = qsizetype(call->children.size()) - (call->isMethod ? 1 : 0);
        if (!call->isMethod && call->name == u"has") {
            if (arguments != 1 || call->children.at(0)->kind != NodeKind::Select)
                return std::unexpected(positionedError(
                    u"query_syntax"_s,
                    Tr::tr("syntax error in query predicate: has() takes one field selection"),
                    call->position, call->end - call->position,
                    Tr::tr("write has(attributes.field) or has(attributes.labels.key)")));
            call->kind = NodeKind::Has;
            return finish(std::move(call));
        }
        const bool isComprehension =
            call->isMethod && (((call->name == u"exists" || call->name == u"all" ||
                                 call->name == u"exists_one" || call->name == u"filter") &&
                                arguments == 2) ||
                               (call->name == u"map" && (arguments == 2 || arguments == 3)));
        static const QStringList macros{u"exists"_s, u"all"_s, u"exists_one"_s, u"filter"_s,
                                        u"map"_s};
        if (!isComprehension && call->isMethod && macros.contains(call->name))
            return std::unexpected(positionedError(
                u"query_syntax"_s,
                Tr::tr("syntax error in query predicate: %1() takes a variable name and %2")
                    .arg(call->name, call->name == u"map"
                                         ? Tr::tr("a transform (and optionally a condition first)")
                                         : Tr::tr("a condition")),
                call->position, call->length,
                Tr::tr("write %1(x, <expression using x>)").arg(call->name)));
        if (!isComprehension)
            return finish(std::move(call));
        Node &variable = *call->children.at(1);
        if (variable.kind != NodeKind::Identifier)
            return std::unexpected(positionedError(
                u"query_syntax"_s,
                Tr::tr("syntax error in query predicate: %1() needs a variable name first")
                    .arg(call->name),
                variable.start, std::max<qsizetype>(1, variable.end - variable.start),
                Tr::tr("write %1(x, <expression using x>)").arg(call->name)));
        call->kind = NodeKind::Comprehension;
        call->literal = Value::fromString(variable.name); // the variable's name
        call->children.erase(call->children.begin() + 1);
        return finish(std::move(call));
    }

    Result<NodePtr> primary()
    {
        const Token &token = current();
        const qsizetype start = token.position;
        switch (token.kind) {
        case TokenKind::Int:
            if (token.intIsMinMagnitude)
                return std::unexpected(positionedError(
                    u"query_syntax"_s,
                    Tr::tr("syntax error in query predicate: integer %1 is out of range")
                        .arg(m_text.mid(token.position, token.length)),
                    token.position, token.length));
            [[fallthrough]];
        case TokenKind::Double:
        case TokenKind::String:
        case TokenKind::True:
        case TokenKind::False:
        case TokenKind::Null:
            return literal(start);
        case TokenKind::Dot:
            if (ahead(1).kind != TokenKind::Identifier)
                return unexpected(Tr::tr("an expression"));
            advance();
            [[fallthrough]];
        case TokenKind::Identifier:
            return identifierOrCall(start);
        case TokenKind::LeftParen:
            return parenthesized();
        case TokenKind::LeftBracket:
            return listLiteral(start);
        case TokenKind::LeftBrace:
            return mapLiteral(start);
        default:
            return unexpected(Tr::tr("an expression"));
        }
    }

    // The current token is a literal (an int in range).
    Result<NodePtr> literal(qsizetype start)
    {
        const Token &token = advance();
        NodePtr made = node(NodeKind::Literal, token, start);
        if (token.kind == TokenKind::Int)
            made->literal = Value::fromInt(token.intValue);
        else if (token.kind == TokenKind::Double)
            made->literal = Value::fromDouble(token.doubleValue);
        else if (token.kind == TokenKind::String)
            made->literal = Value::fromString(token.text);
        else if (token.kind != TokenKind::Null)
            made->literal = Value::fromBool(token.kind == TokenKind::True);
        made->end = previousEnd();
        return finish(std::move(made));
    }

    // `name` or `name(args)`; a leading dot (`.name`) is already read and counts from `start`.
    Result<NodePtr> identifierOrCall(qsizetype start)
    {
        const Token &name = advance();
        if (current().kind == TokenKind::LeftParen) {
            advance();
            NodePtr call = node(NodeKind::Call, name, start);
            call->name = name.text;
            if (Result<void> args = arguments(*call); !args)
                return std::unexpected(args.error());
            call->end = previousEnd();
            return macro(std::move(call));
        }
        NodePtr made = node(NodeKind::Identifier, name, start);
        made->name = name.text;
        made->end = previousEnd();
        return finish(std::move(made));
    }

    Result<NodePtr> parenthesized()
    {
        advance();
        Result<NodePtr> inner = expression();
        if (!inner)
            return inner;
        if (Result<void> close = expect(TokenKind::RightParen, u")"_s); !close)
            return std::unexpected(close.error());
        return inner;
    }

    Result<NodePtr> listLiteral(qsizetype start)
    {
        NodePtr made = node(NodeKind::ListLiteral, advance(), start);
        while (current().kind != TokenKind::RightBracket) {
            Result<NodePtr> element = expression();
            if (!element)
                return element;
            made->children.push_back(std::move(*element));
            if (current().kind != TokenKind::Comma)
                break;
            advance();
        }
        if (Result<void> close = expect(TokenKind::RightBracket, u"]"_s); !close)
            return std::unexpected(close.error());
        made->end = previousEnd();
        return finish(std::move(made));
    }

    // The children are key, value, key, value, ...
    Result<NodePtr> mapLiteral(qsizetype start)
    {
        NodePtr made = node(NodeKind::MapLiteral, advance(), start);
        while (current().kind != TokenKind::RightBrace) {
            Result<NodePtr> key = expression();
            if (!key)
                return key;
            if (Result<void> colon = expect(TokenKind::Colon, u":"_s); !colon)
                return std::unexpected(colon.error());
            Result<NodePtr> value = expression();
            if (!value)
                return value;
            made->children.push_back(std::move(*key));
            made->children.push_back(std::move(*value));
            if (current().kind != TokenKind::Comma)
                break;
            advance();
        }
        if (Result<void> close = expect(TokenKind::RightBrace, u"}"_s); !close)
            return std::unexpected(close.error());
        made->end = previousEnd();
        return finish(std::move(made));
    }

    const QString &m_text;
    QList<Token> m_tokens;
    qsizetype m_at = 0;
    int m_depth = 0;
};

} // namespace

Result<std::unique_ptr<Node>> parse(const QString &text)
{
    if (text.size() > maxPredicateLength)
        return fail(u"query_too_long"_s,
                    Tr::tr("query predicate is %1 characters long, over the limit of %2")
                        .arg(text.size())
                        .arg(maxPredicateLength),
                    Tr::tr("shorten the predicate"));
    Result<QList<Token>> tokens = tokenize(text);
    if (!tokens)
        return std::unexpected(tokens.error());
    if (tokens->size() == 1)
        return std::unexpected(
            positionedError(u"query_syntax"_s, Tr::tr("query predicate is empty"), 0, 1,
                            Tr::tr("for example: modelType == \"swamp/worker\"")));
    return Parser(text, std::move(*tokens)).run();
}

} // namespace Swamp::Query::Internal
