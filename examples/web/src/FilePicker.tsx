/**
 * A file chooser shown as a labelled button: hands the chosen file to `onFile`, then clears the
 * input so that choosing the same file again (after fixing it on disk) fires once more.
 */
export function FilePicker(props: {
  label: string
  testId: string
  accept: string
  onFile: (file: File) => void
}) {
  return (
    <label className="file">
      {props.label}
      <input
        data-testid={props.testId}
        type="file"
        accept={props.accept}
        onChange={(e) => {
          const f = e.target.files?.[0]
          e.target.value = ''
          if (f) props.onFile(f)
        }}
      />
    </label>
  )
}
