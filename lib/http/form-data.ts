/** A text field of a submitted form; anything else (missing, a file) reads as "". */
export function formText(formData: FormData, name: string): string {
  const value = formData.get(name);
  return typeof value === "string" ? value : "";
}
