#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QSettings;
class QSortFilterProxyModel;
class QTableView;

namespace Swamp::Console {

class EventModel;

// The operator event log (newest first), filterable by text and by kind.
class EventsTab final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventsTab)

public:
    explicit EventsTab(EventModel *model, QWidget *parent = nullptr);

    QTableView *view() const { return m_view; }
    QLineEdit *filterEdit() const { return m_filter; }
    QComboBox *kindBox() const { return m_kind; }
    QSortFilterProxyModel *proxy() const { return m_proxy; }

    void saveState(QSettings &settings) const;
    void restoreState(const QSettings &settings);

private:
    void updateSummary();

    EventModel *m_model;
    QSortFilterProxyModel *m_kindProxy;
    QSortFilterProxyModel *m_proxy;
    QLineEdit *m_filter;
    QComboBox *m_kind;
    QTableView *m_view;
    QLabel *m_summary;
};

} // namespace Swamp::Console
