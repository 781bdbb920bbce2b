#pragma once

#include "common/error.h"

#include <QJsonObject>
#include <QWidget>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSortFilterProxyModel;
class QSpinBox;
class QTableView;
class QToolButton;

namespace Swamp::Console {

class AdminSession;
class QueryResultModel;

// `swamp data query` in a window: the predicate editor with live validation from core/query (the
// error underlined at its position, the suggestion shown), --select and --limit, the results as
// a table, and export to JSON.
class QueryTab final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(QueryTab)

public:
    explicit QueryTab(AdminSession *session, QWidget *parent = nullptr);

    QPlainTextEdit *editor() const { return m_editor; }
    QLineEdit *selectEdit() const { return m_select; }
    QTableView *view() const { return m_view; }
    QueryResultModel *model() const { return m_model; }
    QAction *runAction() const { return m_run; }
    QAction *exportAction() const { return m_export; }
    QString validationText() const;
    // The underlined span (start, length) of the current error; length 0 when none.
    std::pair<int, int> errorSpan() const { return m_errorSpan; }
    QString statusText() const;

    void setPredicate(const QString &predicate);
    void run();
    // Writes the last response ({predicate, results, total, limited}) as indented JSON.
    bool exportTo(const QString &path, QString *errorString = nullptr) const;

private:
    void setUpEditors();
    void setUpActions();
    void connectEditors();
    void setUpResults();
    void setUpLayout(QToolButton *runButton, QToolButton *exportButton);
    void validate();
    void showError(const Error &error, bool fromPredicate);
    void exportResults();

    AdminSession *m_session;
    QPlainTextEdit *m_editor;
    QLineEdit *m_select;
    QSpinBox *m_limit;
    QComboBox *m_examples;
    QLabel *m_validation;
    QLabel *m_status;
    QueryResultModel *m_model;
    QSortFilterProxyModel *m_proxy;
    QTableView *m_view;
    QAction *m_run;
    QAction *m_export;
    QJsonObject m_lastResponse;
    std::pair<int, int> m_errorSpan{0, 0};
    bool m_valid = false;
};

} // namespace Swamp::Console
