#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QLatin1StringView>
#include <QMap>
#include <QStringList>
#include <QStringView>

#include <charconv>
#include <cstring>
#include <optional>
#include <utility>

class QDateTime;
class QJsonObject;

namespace Swamp {

// Appends `text` to `out` as a JSON string (quotes included), UTF-8, escaped as RFC 8259 asks.
void appendJsonString(QByteArray &out, QStringView text);
// The same for text already in UTF-8 (a database column): the bytes as appendJsonString() writes
// QString::fromUtf8(utf8) (an invalid sequence becomes U+FFFD), without converting ASCII.
void appendJsonStringUtf8(QByteArray &out, QByteArrayView utf8);
// A JSON array of strings, and an object of strings (labels) with its keys in the map's order.
void appendJsonStrings(QByteArray &out, const QStringList &values);
void appendJsonStrings(QByteArray &out, const QMap<QString, QString> &values);

namespace Internal {

// Bytes written through a cursor into the spare room of a QByteArray: room() makes sure of space
// for a value's worst case once, and the value is written with plain stores (an append of a
// QByteArray checks aliasing, sharing and capacity on each call, which was a tenth of writing an
// answer of 50,000 records, issue 20). take() gives the array back holding what was written.
class JsonBuffer
{
public:
    // Continues `out` (what it holds stays); `room`: the bytes expected.
    JsonBuffer(QByteArray &&out, qsizetype room)
        : m_out(std::move(out))
    {
        grow(room);
    }
    // Moving the array keeps its bytes where they are, and so the cursor valid.
    JsonBuffer(JsonBuffer &&other) noexcept
        : m_out(std::move(other.m_out))
        , m_at(std::exchange(other.m_at, nullptr))
        , m_end(std::exchange(other.m_end, nullptr))
    {
    }
    JsonBuffer(const JsonBuffer &) = delete;
    JsonBuffer &operator=(const JsonBuffer &) = delete;
    JsonBuffer &operator=(JsonBuffer &&) = delete;

    // The cursor, with at least `bytes` writable after it; advance() moves it past what was written.
    char *room(qsizetype bytes)
    {
        if (m_end - m_at < bytes)
            grow(bytes);
        return m_at;
    }
    void advance(char *to) { m_at = to; }
    void put(char c) { *room(1) = c; ++m_at; }
    void put(const char *data, qsizetype size)
    {
        char *at = room(size);
        if (size > 0) // an empty view may hold no pointer, which memcpy must not be given
            std::memcpy(at, data, size_t(size));
        m_at += size;
    }
    // The last byte written (a JSON text written here never starts empty).
    char last() const { return m_at[-1]; }
    QByteArray take()
    {
        m_out.resize(m_at - m_out.constData());
        m_at = m_end = nullptr;
        return std::move(m_out);
    }

private:
    void grow(qsizetype bytes);

    QByteArray m_out; // sized to its capacity while written; [data, m_at) is the text
    char *m_at = nullptr;
    char *m_end = nullptr;
};

// The writers of JSON strings, into a buffer (jsonwriter.cpp).
void writeJsonString(JsonBuffer &out, QStringView text);
void writeJsonStringUtf8(JsonBuffer &out, QByteArrayView utf8);

} // namespace Internal

// The compact JSON text of one object, written straight into UTF-8. For the few hot paths where
// building a QJsonObject only to serialize it cost more than the work it described (issue 8: the
// data of four events per step was a fifth of the orchestrator's time). Keys are written as given
// and must be plain ASCII without quotes; each key once (nothing checks).
class JsonObjectWriter
{
public:
    // `capacity`: the bytes the object is expected to take (one allocation if it does not grow).
    explicit JsonObjectWriter(qsizetype capacity = 192)
        : m_out(QByteArray(), capacity)
    {
        m_out.put('{');
    }
    // Writes the object at the end of `text` (finish() gives it back, the object appended): many
    // objects into one buffer, without a copy of each (data.query's results).
    explicit JsonObjectWriter(QByteArray &&text)
        : m_out(std::move(text), 1024)
    {
        m_out.put('{');
    }

    JsonObjectWriter &add(QLatin1StringView key, QStringView value)
    {
        appendKey(key);
        Internal::writeJsonString(m_out, value);
        return *this;
    }
    JsonObjectWriter &add(QLatin1StringView key, const QString &value) { return add(key, QStringView(value)); }
    // A string given as UTF-8 (appendJsonStringUtf8()).
    JsonObjectWriter &addUtf8(QLatin1StringView key, QByteArrayView utf8)
    {
        appendKey(key);
        Internal::writeJsonStringUtf8(m_out, utf8);
        return *this;
    }
    JsonObjectWriter &add(QLatin1StringView key, qint64 value)
    {
        char *at = writeKey(m_out.room(key.size() + 4 + 20), key);
        m_out.advance(std::to_chars(at, at + 20, value).ptr);
        return *this;
    }
    JsonObjectWriter &add(QLatin1StringView key, int value) { return add(key, qint64(value)); }
    JsonObjectWriter &add(QLatin1StringView key, bool value)
    {
        return value ? addScalar(key, "true", 4) : addScalar(key, "false", 5);
    }
    JsonObjectWriter &add(QLatin1StringView key, const QStringList &values);
    // An object of strings (labels), its keys in the map's order.
    JsonObjectWriter &add(QLatin1StringView key, const QMap<QString, QString> &values);
    // Written by QJsonDocument (an object's keys need sorting and its values any type).
    JsonObjectWriter &add(QLatin1StringView key, const QJsonObject &object);
    // An ISO-8601 UTC time (isoUtc()), or null for an invalid one.
    JsonObjectWriter &addTime(QLatin1StringView key, const QDateTime &when);
    // The same from milliseconds since the epoch; nullopt is null.
    JsonObjectWriter &addTimeMs(QLatin1StringView key, std::optional<qint64> ms);
    JsonObjectWriter &addNull(QLatin1StringView key) { return addScalar(key, "null", 4); }
    // A string literal would otherwise become a bool.
    JsonObjectWriter &add(QLatin1StringView key, const char *value) = delete;
    // `json` is already a JSON value (an object from another writer, say).
    JsonObjectWriter &addRaw(QLatin1StringView key, QByteArrayView json) { return addScalar(key, json.data(), json.size()); }

    // An object as the value of `key`: what is added until endObject() goes into it.
    JsonObjectWriter &beginObject(QLatin1StringView key) { return addScalar(key, "{", 1); }
    JsonObjectWriter &endObject()
    {
        m_out.put('}');
        return *this;
    }

    // The text; the writer is spent.
    QByteArray finish()
    {
        m_out.put('}');
        return m_out.take();
    }

private:
    // The key and a value that needs no escaping (a number, a time, raw JSON), in one go.
    JsonObjectWriter &addScalar(QLatin1StringView key, const char *value, qsizetype size)
    {
        char *at = writeKey(m_out.room(key.size() + 4 + size), key);
        if (size > 0)
            std::memcpy(at, value, size_t(size));
        m_out.advance(at + size);
        return *this;
    }
    // Writes `,"key":` (no comma first in an object) at `at`, which has room for it; returns its end.
    char *writeKey(char *at, QLatin1StringView key) const
    {
        if (m_out.last() != '{') // no value ends so: this key follows another
            *at++ = ',';
        *at++ = '"';
        std::memcpy(at, key.data(), size_t(key.size()));
        at += key.size();
        *at++ = '"';
        *at++ = ':';
        return at;
    }
    void appendKey(QLatin1StringView key) { m_out.advance(writeKey(m_out.room(key.size() + 4), key)); }

    Internal::JsonBuffer m_out;
};

// The values of one record as a JSON array, `[table, value, ...]`: a row of data.query's rows form
// (issue 20; protocol.md). It takes JsonObjectWriter's calls, so one function writes a record either
// way, but writes no key (the answer's table names them, in the order they are added) and a time
// as its milliseconds since the epoch (the table names the times): about half the bytes, and no
// time formatted by the orchestrator.
class JsonRowWriter
{
public:
    // Writes the row at the end of `text` (finish() gives it back), starting with `table`.
    JsonRowWriter(QByteArray &&text, int table)
        : m_out(std::move(text), 256)
    {
        char *at = m_out.room(1 + 11);
        *at++ = '[';
        m_out.advance(std::to_chars(at, at + 11, table).ptr);
    }
    JsonRowWriter &add(QLatin1StringView, QStringView value)
    {
        m_out.put(',');
        Internal::writeJsonString(m_out, value);
        return *this;
    }
    JsonRowWriter &add(QLatin1StringView key, const QString &value) { return add(key, QStringView(value)); }
    JsonRowWriter &addUtf8(QLatin1StringView, QByteArrayView utf8)
    {
        m_out.put(',');
        Internal::writeJsonStringUtf8(m_out, utf8);
        return *this;
    }
    JsonRowWriter &add(QLatin1StringView, qint64 value)
    {
        char *at = m_out.room(1 + 20);
        *at++ = ',';
        m_out.advance(std::to_chars(at, at + 20, value).ptr);
        return *this;
    }
    JsonRowWriter &add(QLatin1StringView key, int value) { return add(key, qint64(value)); }
    JsonRowWriter &add(QLatin1StringView key, bool value) { return value ? addRaw(key, "true") : addRaw(key, "false"); }
    JsonRowWriter &add(QLatin1StringView key, const char *value) = delete;
    JsonRowWriter &addTimeMs(QLatin1StringView key, std::optional<qint64> ms)
    {
        return ms ? add(key, *ms) : addNull(key);
    }
    JsonRowWriter &addNull(QLatin1StringView key) { return addRaw(key, "null"); }
    JsonRowWriter &addRaw(QLatin1StringView, QByteArrayView json)
    {
        char *at = m_out.room(1 + json.size());
        *at++ = ',';
        if (!json.isEmpty())
            std::memcpy(at, json.data(), size_t(json.size()));
        m_out.advance(at + json.size());
        return *this;
    }
    // The text; the writer is spent.
    QByteArray finish()
    {
        m_out.put(']');
        return m_out.take();
    }

private:
    Internal::JsonBuffer m_out;
};

} // namespace Swamp
