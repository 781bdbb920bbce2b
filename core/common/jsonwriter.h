#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QLatin1StringView>
#include <QMap>
#include <QStringList>
#include <QStringView>

class QDateTime;
class QJsonObject;

namespace Swamp {

// Appends `text` to `out` as a JSON string (quotes included), UTF-8, escaped as RFC 8259 asks.
void appendJsonString(QByteArray &out, QStringView text);

// The compact JSON text of one object, written straight into UTF-8. For the few hot paths where
// building a QJsonObject only to serialize it cost more than the work it described (issue 8: the
// data of four events per step was a fifth of the orchestrator's time). Keys are written as given
// and must be plain ASCII without quotes; each key once (nothing checks).
class JsonObjectWriter
{
public:
    // `capacity`: the bytes the object is expected to take (one allocation if it does not grow).
    explicit JsonObjectWriter(qsizetype capacity = 192) { m_out.reserve(capacity); m_out += '{'; }

    JsonObjectWriter &add(QLatin1StringView key, QStringView value)
    {
        appendKey(key);
        appendJsonString(m_out, value);
        return *this;
    }
    JsonObjectWriter &add(QLatin1StringView key, const QString &value) { return add(key, QStringView(value)); }
    JsonObjectWriter &add(QLatin1StringView key, qint64 value)
    {
        appendKey(key);
        m_out += QByteArray::number(value);
        return *this;
    }
    JsonObjectWriter &add(QLatin1StringView key, int value) { return add(key, qint64(value)); }
    JsonObjectWriter &add(QLatin1StringView key, bool value)
    {
        appendKey(key);
        m_out += value ? "true" : "false";
        return *this;
    }
    JsonObjectWriter &add(QLatin1StringView key, const QStringList &values);
    // An object of strings (labels), its keys in the map's order.
    JsonObjectWriter &add(QLatin1StringView key, const QMap<QString, QString> &values);
    // Written by QJsonDocument (an object's keys need sorting and its values any type).
    JsonObjectWriter &add(QLatin1StringView key, const QJsonObject &object);
    // An ISO-8601 UTC time (isoUtc()), or null for an invalid one.
    JsonObjectWriter &addTime(QLatin1StringView key, const QDateTime &when);
    JsonObjectWriter &addNull(QLatin1StringView key)
    {
        appendKey(key);
        m_out += "null";
        return *this;
    }
    // A string literal would otherwise become a bool.
    JsonObjectWriter &add(QLatin1StringView key, const char *value) = delete;
    // `json` is already a JSON value (an object from another writer, say).
    JsonObjectWriter &addRaw(QLatin1StringView key, QByteArrayView json)
    {
        appendKey(key);
        m_out += json;
        return *this;
    }

    // The text; the writer is spent.
    QByteArray finish()
    {
        m_out += '}';
        return std::move(m_out);
    }

private:
    void appendKey(QLatin1StringView key)
    {
        if (m_out.size() > 1)
            m_out += ',';
        m_out += '"';
        m_out += QByteArrayView(key.data(), key.size());
        m_out += "\":";
    }

    QByteArray m_out;
};

} // namespace Swamp
